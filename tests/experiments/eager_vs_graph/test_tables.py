"""The "what exactly is timed" table is built from what each stored job said about itself."""

from conftest import evg_job

from fwbench.experiments.eager_vs_graph import tables as what_is_timed
from fwbench.report.results import Report


def _timed(job: dict, threads: int = 2, busy: int = 2, parallel: float = 1.1, ops: int = 55) -> dict:
    job["settings"] = {"threads": threads, "compile_cache": "cold" if job["process"] == 0 else "warm"}
    job["framework_settings"] = {"intra_op_threads": threads, "inter_op_threads": 1, "matmul_precision": "highest"}
    job["process_info"] = {"train_threads": {"threads_busy": busy, "cpu_parallelism": parallel}}
    job["timed"] = {"eager": {"compiled scope": "nothing: op by op", "update": "SGD", "rnn loop": "Python loop",
                              "ops per train step": ops, "ops per inference step": 8, "inference shapes": "eager: no graph"},
                    "torch.compile": {"compiled scope": "whole train step", "update": "in the graph",
                                      "rnn loop": "unrolled", "buffer donation": "in place",
                                      "inference shapes": "one graph per batch size"}}
    return job


def test_one_row_per_variant_with_counts_threads_and_cache_states(make_store):
    jobs = [_timed(evg_job("r1", "torch", {"eager": 0.01, "torch.compile": 0.008}, process=p, workload=w),
                   busy=1 + p, parallel=0.9 + 0.1 * p, ops=55 if w == "mlp" else 1624)
            for p in range(2) for w in ("mlp", "rnn")]
    store = make_store([("r1", jobs)])
    table = what_is_timed.table(Report.load(store.root))
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
    assert what_is_timed.table(Report.load(store.root)).empty
