"""The "what exactly is timed" table is built from what each stored job said about itself."""

from fwbench.experiments.eager_vs_graph import tables as what_is_timed
from fwbench.report.results import Report, plain_number
from fwbench.workloads import WORKLOADS
from synthetic.eager_vs_graph import evg_job


def _timed(job: dict, threads: int = 2, busy: int = 2, parallel: float = 1.1, ops: int = 55) -> dict:
    job["settings"] = {"threads": threads, "compile_cache": "cold" if job["process"] == 0 else "warm"}
    job["framework_settings"] = {"intra_op_threads": threads, "inter_op_threads": 1, "matmul_precision": "highest"}
    job["process_info"] = {"train_threads": {"threads_busy": busy, "cpu_parallelism": parallel}}
    job["timed"] = {
        "eager": {
            "compiled scope": "nothing: op by op",
            "update": "SGD",
            "rnn loop": "Python loop",
            "ops per train step": ops,
            "ops per inference step": 8,
            "inference shapes": "eager: no graph",
        },
        "torch.compile": {
            "compiled scope": "whole train step",
            "update": "in the graph",
            "rnn loop": "unrolled",
            "buffer donation": "in place",
            "inference shapes": "one graph per batch size",
        },
    }
    return job


def test_one_row_per_variant_with_counts_threads_and_cache_states(make_store):
    jobs = [
        _timed(
            evg_job("r1", "torch", {"eager": 0.01, "torch.compile": 0.008}, process=p, workload=w),
            busy=1 + p,
            parallel=0.9 + 0.1 * p,
            ops=55 if w == "mlp" else 1624,
        )
        for p in range(2)
        for w in ("mlp", "rnn")
    ]
    store = make_store([("r1", jobs)])
    table = what_is_timed.what_is_timed(Report.load(store.root))
    assert list(table["variant"]) == ["eager", "torch.compile"]
    eager, compiled = table.iloc[0], table.iloc[1]
    assert eager["ops per eager train step"] == "mlp 55 · rnn 1624"
    assert eager["ops per eager inference step"] == "mlp 8 · rnn 8"
    assert compiled["ops per eager train step"] == "-" and compiled["buffer donation"] == "in place"
    assert compiled["compiled scope"] == "whole train step" and compiled["rnn loop"] == "unrolled"
    assert eager["threads requested (intra / inter)"] == "2 / 1" == eager["threads in effect (intra / inter)"]
    assert eager["busy threads seen by the OS"] == "1-2" and eager["CPUs in use at once (max)"] == "1.00"
    assert eager["matmul precision"] == "highest"
    assert set(eager["compiler cache (processes)"].split(", ")) == {"cold 2", "warm 2"}


def test_jobs_that_recorded_nothing_leave_the_table_empty(make_store):
    store = make_store([("r1", [evg_job("r1", "torch", {"eager": 0.01})])])
    assert what_is_timed.what_is_timed(Report.load(store.root)).empty


# ---- the chapter's tables and sentences, on synthetic jobs whose answer is known by construction -------------------

from fwbench.experiments.eager_vs_graph import tables, views  # noqa: E402
from synthetic.eager_vs_graph import evg_runs  # noqa: E402

TIMES = {
    ("torch", "eager"): 0.010,
    ("torch", "torch.compile"): 0.004,  # 2.5x
    ("jax", "eager"): 0.020,
    ("jax", "jax.jit"): 0.002,
}  # 10x


def _report(make_store):
    return Report(make_store([("r1", evg_runs("r1", TIMES))]).load()[0])


def test_what_this_means_names_the_largest_and_smallest_gain_from_the_comparisons(make_store):
    report = _report(make_store)
    cmp = views.comparisons(report)
    text = tables.what_this_means(cmp, tables.timed_cells(report.cell_table("eager_vs_graph")))
    train = cmp[cmp.phase == "train"]
    best, worst = train.loc[train["speedup"].idxmax()], train.loc[train["speedup"].idxmin()]
    assert best["variant"] == "jax.jit" and worst["variant"] == "torch.compile"
    assert f"largest gain is jax.jit on mlp at {best['speedup']:.2f}x" in text
    assert f"smallest is torch.compile on mlp at {worst['speedup']:.2f}x" in text
    assert "Fastest eager mode on testbox, mlp train: torch" in text  # 10 ms against 20 ms


def test_step_time_and_compile_cost_tables_cover_every_cell(make_store):
    report = _report(make_store)
    timed = tables.timed_cells(report.cell_table("eager_vs_graph"))
    ((workload, steps),) = tables.step_times(timed).items()
    assert workload == "mlp" and len(steps) == len(timed)
    assert {"step (geometric mean of process medians)", "95% CI", "spread", "noisy"} <= set(steps.columns)
    assert "peak device memory (MiB)" not in steps  # a CPU-only store has nothing to show there
    cost = tables.compile_cost(views.comparisons(report))
    assert set(cost["variant"]) == {"torch.compile", "jax.jit"}
    assert cost["break-even"].str.fullmatch(r"[\d,]+ steps|does not pay off .*|not computable .*").all()


def test_what_was_measured_and_the_checks_come_from_the_stored_jobs(make_store):
    report = _report(make_store)
    jobs = report.job_table("eager_vs_graph")
    text = tables.what_was_measured(report, jobs)
    assert "**mlp** (" in text and f"{len(jobs)} of {len(jobs)} processes produced results" in text
    checks = report.checks("eager_vs_graph")
    assert f"**{int(checks['passed'].sum())} of {len(checks)} checks passed.**" in tables.checks_text(checks)
    assert tables.shape_change(report.cell_table("eager_vs_graph"), "no_such_metric").empty


def test_each_device_gets_its_own_ceiling_and_a_device_without_one_is_named(make_store):
    from fwbench.report.sanitize import md

    cpu = [evg_job("r1", "torch", {"eager": 0.01}, process=p) for p in range(2)]
    cpu[0]["calibration"] = {"matmul_n": 1024, "peak_gflops": 100.0}
    cpu[1]["calibration"] = {"matmul_n": 1024, "peak_gflops": 120.0}
    gpu = evg_job("r1", "jax", {"eager": 0.001})
    gpu["device"] = "cuda"
    gpu["calibration"] = {
        "matmul_n": 1024,
        "peak_gflops": 90.0,
        "device": {"device": "cuda", "framework": "jax", "matmul_n": 4096, "peak_gflops": 50000.0},
    }
    store = make_store([("r1", cpu + [gpu])])
    report = Report.load(store.root)
    peaks = tables.machine_peaks(report)
    assert peaks[("testbox", "cpu")]["gflops"] == 100.0  # median of 100, 120 and the GPU job's host 90
    assert peaks[("testbox", "cuda")] == {"gflops": 50000.0, "how": "JAX float32, n=4096"}
    timed = tables.timed_cells(report.cell_table("eager_vs_graph"))
    text = tables.peaks_text(peaks, timed)
    assert "testbox cuda: 50,000 GFLOP/s (" + md("JAX float32, n=4096") + ")" in text and "No peak for" not in text
    # A GPU run stored before device peaks were measured has only its host's.
    host_only = {k: v for k, v in peaks.items() if k[1] == "cpu"}
    assert "No peak for testbox cuda" in tables.peaks_text(host_only, timed)


def test_contention_cells_meet_their_quiet_twins(make_store):
    from fwbench.experiments.eager_vs_graph import tables as t
    from fwbench.report.results import Report
    from synthetic.eager_vs_graph import evg_runs

    quiet = evg_runs("r1", {("torch", "eager"): 0.010, ("jax", "eager"): 0.010}, within=0.01)
    busy = evg_runs(
        "r1",
        {("torch", "eager"): 0.040, ("jax", "eager"): 0.011},
        within=0.01,
        seed=3,
        params={"batch_size": 32, "infer_batch_sizes": [32], "contention": 1},
    )
    for doc in busy:  # a job of the contention block: its own job ids
        doc["job_id"] += "-busy"
    report = Report(make_store([("r1", quiet + busy)]).load()[0])
    table = t.contention(report)
    assert len(table) == 2 * 2 and set(table["busy_cores"]) == {1}  # two frameworks x two phases
    torch_rows = table[table["framework"] == "torch"]
    assert (torch_rows["slowdown_ci_low"] > 3).all()  # 4x by construction
    text = t.contention_text(table)
    assert "PyTorch eager" in text and "slowed most" in text
    # Quiet cells keep their digest: contention 0 is no part of a cell's identity.
    from fwbench.experiments import params_digest

    assert params_digest(quiet[0]) == params_digest({**quiet[0], "params": {**quiet[0]["params"], "contention": 0}})
    assert t.contention_text(table.iloc[0:0]) == ""


def test_what_this_means_reads_the_size_sweep_and_the_large_models(make_store):
    """Built so that torch.compile's gain shrinks as the MLP grows (2.5x, 1.6x, 1.1x) and is 1.3x on resnet18."""
    sweep = {"mlp_h128": 0.004, "mlp_h1024": 0.00625, "mlp_h4096": 0.0091}
    jobs = [
        job
        for workload, compiled in {**sweep, "resnet18": 0.0077}.items()
        for job in evg_runs("r1", {("torch", "eager"): 0.010, ("torch", "torch.compile"): compiled}, workload=workload)
    ]
    report = Report(make_store([("r1", jobs)]).load()[0])
    cmp = views.comparisons(report)
    lines = tables.size_lines(cmp)
    train = cmp[(cmp.phase == "train")].set_index("workload")["speedup"]
    h128, h4096 = WORKLOADS["mlp_h128"].n_params / 1e6, WORKLOADS["mlp_h4096"].n_params / 1e6
    sweep_line = next(line for line in lines if line.startswith("- MLP size sweep") and ", train:" in line)
    # Markdown: the workload names' underscores escaped.
    assert (
        f"from mlp\\_h128 ({plain_number(h128, 3)}M parameters) to mlp\\_h4096 ({plain_number(h4096, 3)}M" in sweep_line
    )
    assert f"torch.compile {train['mlp_h128']:.2f}x (faster) to {train['mlp_h4096']:.2f}x" in sweep_line
    assert train["mlp_h128"] > train["mlp_h1024"] > train["mlp_h4096"]  # the construction, read back
    large = next(line for line in lines if line.startswith("- Large model resnet18") and ", train," in line)
    assert f"torch.compile {train['resnet18']:.2f}x (faster)" in large
    assert all(
        line in tables.what_this_means(cmp, tables.timed_cells(report.cell_table("eager_vs_graph"))) for line in lines
    )
    # Two sizes are no sweep: nothing is said of a trend.
    assert not any(line.startswith("- MLP size sweep") for line in tables.size_lines(cmp[cmp.workload != "mlp_h1024"]))
