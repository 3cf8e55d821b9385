"""Claim P1's rule on synthetic jobs whose answer is known by construction (never on measured outcomes)."""

from fwbench.report.claims import load_claims, verdict_for

P1 = {c.id: c for c in load_claims()}["P1"]


def times(framework: str, t: float, workers=(0, 2)) -> dict:
    from fwbench.experiments.input_pipeline.hooks import LOADERS

    return {(fmt, w): t for fmt in LOADERS[framework][1] for w in workers}


def jobs(ip_job, tf: float, torch: float, grain: float, **kw) -> list[dict]:
    return [
        ip_job("r1", "tensorflow", times("tensorflow", tf), seed=1, **kw),
        ip_job("r1", "torch", times("torch", torch), seed=2, **kw),
        ip_job("r1", "jax", times("jax", grain), seed=3, **kw),
    ]


def test_tf_data_clearly_faster_everywhere_supports_the_claim(pipeline_report, ip_job):
    v = verdict_for(P1, pipeline_report(jobs(ip_job, tf=0.5, torch=1.0, grain=1.0)))
    assert v.verdict == "supported"
    assert len(v.cells) == 8 and set(v.cells["role"]) == {"supports"}  # 2 worker counts x 2 kinds x 2 rivals
    assert "tf.data 2.0" in v.evidence or "tf.data 1.9" in v.evidence  # the 2x built in, with seeded 1% noise
    # Far from the margin in every cell: every simulated rerun gives the same verdict.
    assert v.reruns == (40, 40) and "Reproducibility: 40 of 40 simulated reruns" in v.evidence


def test_equal_throughput_is_equivalent_and_contradicts_higher(pipeline_report, ip_job):
    v = verdict_for(P1, pipeline_report(jobs(ip_job, tf=1.0, torch=1.0, grain=1.0)))
    assert set(v.cells["verdict"]) == {"equivalent"}
    assert v.verdict == "contradicted"


def test_a_slower_tf_data_contradicts_and_a_mixed_store_names_its_exceptions(pipeline_report, ip_job):
    v = verdict_for(P1, pipeline_report(jobs(ip_job, tf=1.0, torch=0.5, grain=2.0)))
    # Faster than grain in 4 cells, slower than the DataLoader in 4: half and half.
    assert sorted(v.cells["role"]).count("supports") == 4 and v.verdict == "mixed"


def test_noisy_pairs_of_processes_are_inconclusive_and_never_vote(pipeline_report, ip_job):
    v = verdict_for(P1, pipeline_report(jobs(ip_job, tf=0.97, torch=1.0, grain=1.0, processes=2, noise=0.2)))
    assert (v.cells["role"] == "inconclusive").all() and v.verdict == "inconclusive"


def test_a_failed_loader_or_a_failed_check_leaves_its_cells_inconclusive(pipeline_report, ip_job):
    failed = {("npy-shards", 0): "RuntimeError", ("npy-shards", 2): "RuntimeError"}
    store = [
        ip_job("r1", "tensorflow", times("tensorflow", 0.5), seed=1),
        ip_job("r1", "torch", times("torch", 1.0), seed=2, failed=failed),
        ip_job("r1", "jax", times("jax", 1.0), seed=3, bad_labels="arrayrecord"),
    ]
    v = verdict_for(P1, pipeline_report(store))
    cells = v.cells.set_index(["kind", "workers", "other"])
    assert cells.loc[("common", 0, "DataLoader"), "role"] == "inconclusive"
    assert "no usable process of DataLoader" in cells.loc[("common", 0, "DataLoader"), "note"]
    assert cells.loc[("own", 2, "grain"), "role"] == "inconclusive"
    assert cells.loc[("own", 2, "DataLoader"), "role"] == "supports"
    # 4 of 8 decided, all for: the quorum of 4 holds, but not with one of them left out.
    assert v.verdict == "inconclusive"


def test_no_jobs_is_not_yet_measured(pipeline_report):
    v = verdict_for(P1, pipeline_report([]))
    assert v.verdict == "not yet measured"


def test_busy_processes_never_vote(pipeline_report, ip_job):
    # Every tf.data process at 2 workers ran beside another program: those cells have no usable tf.data side.
    busy = {(fmt, 2): {0, 1, 2, 3} for fmt in ("npy-shards", "tfrecord")}
    store = [
        ip_job("r1", "tensorflow", times("tensorflow", 0.5), seed=1, busy=busy),
        ip_job("r1", "torch", times("torch", 1.0), seed=2, busy={}),
        ip_job("r1", "jax", times("jax", 1.0), seed=3, busy={}),
    ]
    v = verdict_for(P1, pipeline_report(store))
    cells = v.cells.set_index(["kind", "workers", "other"])
    assert (cells.xs(2, level="workers")["role"] == "inconclusive").all()
    assert "measured on a busy machine" in cells.loc[("common", 2, "grain"), "note"]
    assert (cells.xs(0, level="workers")["role"] == "supports").all()
