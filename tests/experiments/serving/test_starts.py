"""Per server start figures read straight from stored jobs (no report): levels, the best of each start, X4's places."""

from fwbench.experiments.serving import starts
from synthetic.serving import ort, sm, with_busy


def items(jobs):
    return [("box", "r1", job) for job in jobs]


def test_each_start_gives_its_best_error_free_throughput_and_lowest_single_client_p99():
    jobs = sm({"mlp": (500, 0.004)}) + ort({"mlp": (1000, 0.002)})
    best = starts.best_per_variant(starts.quiet(starts.level_rows(items(jobs)))).set_index("variant")
    # Best throughput: 8 clients, batching off (the synthetic jobs' batching runs at 0.9 of it), per start.
    assert best.loc["onnxruntime", "peak_by_process"] == {0: [980.0], 1: [1000.0], 2: [1020.0]}
    assert best.loc["tf-savedmodel", "processes"] == 3 and best.loc["tf-savedmodel", "batching"] == False  # noqa: E712
    # Single-client p99: the 1-client level, batching off, scaled down as the start is faster.
    assert best.loc["onnxruntime", "p99_by_process"][2] == [0.002 / 1.02]


def test_levels_measured_on_a_busy_machine_are_not_read():
    jobs = with_busy(sm({"mlp": (500, 0.004)}), processes={1}) + ort({"mlp": (1000, 0.002)})
    lv = starts.level_rows(items(jobs))
    busy = lv[lv["busy"]]
    assert set(busy["variant"]) == {"tf-savedmodel"} and set(busy["process"]) == {1}
    quiet = starts.quiet(lv)
    assert not (quiet["variant"].eq("tf-savedmodel") & quiet["process"].eq(1)).any()
    best = starts.best_per_variant(starts.quiet(lv)).set_index("variant")
    assert sorted(best.loc["tf-savedmodel", "peak_by_process"]) == [0, 2]


def test_x4_reads_tensorflow_serving_where_it_ran_even_when_the_frontend_serves_the_savedmodel_faster():
    jobs = sm({"mlp": (900, 0.002)}, variant="tf-serving") + sm({"mlp": (2000, 0.001)}) + ort({"mlp": (1000, 0.002)})
    for job in jobs[:3]:
        job["mode"] = "tfserving:savedmodel"
    lv = starts.quiet(starts.level_rows(items(jobs)))
    (place,) = list(starts.x4_places(starts.server_rows(items(jobs)), starts.best_per_variant(lv)))
    machine, workload, top, others = place
    assert (machine, workload, top["variant"]) == ("box", "mlp", "tf-serving")
    assert set(others["variant"]) == {"onnxruntime"}  # the frontend's SavedModel is the same subject, not a rival
