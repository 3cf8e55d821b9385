"""A real input-pipeline job on a tiny dataset: every loader's pipelines run in fresh processes and deliver the
dataset's data; failures are stored with their errors; the order is seeded; parameters are checked."""

import pytest

from fwbench.experiments.input_pipeline import measure
from fwbench.experiments.input_pipeline.dataset import DataSpec
from fwbench.experiments.input_pipeline.hooks import LOADERS
from fwbench.experiments.input_pipeline.pipeline import Pipeline
from tiers import full_only

# In the slow part's process (scripts/run_tests.py), to even out `make test`'s two halves.
pytestmark = pytest.mark.with_slow

TINY = dict(samples=48, image_size=16, crop=12, classes=4, shards=2, batch_size=16, epochs=2, processes=1)


@pytest.mark.parametrize("framework", ["torch", full_only("tensorflow"), full_only("jax")])
def test_every_loader_streams_both_its_formats_with_workers_and_the_same_data(tmp_path, framework):
    # One redo at most: beside the rest of the test suite a pipeline may well read busy, and each redo is a process.
    params = measure.Params(**TINY, workers=(1,), busy_redo=1, data_dir=str(tmp_path / "data"))
    result = measure.measure_all(framework, list(LOADERS[framework][1]), params, threads=2, scratch=tmp_path / "s")
    assert [(a["format"], a["outcome"]) for a in result["pipelines"]] == [
        (f, "ok") for f in sorted(LOADERS[framework][1], key=[a["format"] for a in result["pipelines"]].index)
    ]
    assert all(c["passed"] for c in result["checks"]), result["checks"]
    assert {c["name"] for c in result["checks"]} == {"labels per epoch", "pixel statistics"}
    metrics = {r["metric"] for r in result["records"]}
    assert {
        "samples_per_s",
        "first_batch_s",
        "loader_import_s",
        "tree_peak_rss_bytes",
        "cpu_s_per_1000_samples",
        "labels_ok",
        "pixel_stats_ok",
    } <= metrics
    for a in result["pipelines"]:
        assert len(a["epoch_s"]) == 2 and all(t > 0 for t in a["epoch_s"])
        # tf.data's worker is a thread of the one process. The other loaders' worker processes are seen only if
        # the sampler looks while they live, which a tiny dataset on a busy machine may not give it: not asserted.
        assert a["tree_processes"] == 1 if framework == "tensorflow" else a["tree_processes"] >= 1
        assert a["loader"] == LOADERS[framework][0]
        # What other programs took while the pipeline's process ran (its workers are its own): every process
        # carries it, and a busy one was run again up to the bound (never asserted quiet: tests run side by side).
        assert a["other_cpus"] >= 0 and a["busy_block"] in (0.0, 1.0)
        assert 1 <= a["block_attempts"] <= params.busy_redo + 1
    for fmt in LOADERS[framework][1]:
        mine = {r["metric"]: r["value"] for r in result["records"] if r["variant"] == fmt}
        assert mine["other_cpus"] >= 0 and mine["busy_block"] in (0.0, 1.0)
        assert 1 <= mine["block_attempts"] <= params.busy_redo + 1
    busy = {(a["format"], a["process"]): bool(a["busy_block"]) for a in result["pipelines"]}
    assert all(s["busy"] is busy[(s["variant"], s["process"])] for s in result["samples"])
    assert {r["mode"] for r in result["records"]} == {"workers 1"}
    assert result["framework_version"]


def test_a_pipeline_that_fails_is_stored_with_its_error(tmp_path):
    params = measure.Params(**TINY, workers=(0,), data_dir=str(tmp_path / "data"))
    spec = params.spec()
    wrong = Pipeline(
        spec=spec,
        fmt="tfrecord",
        data_root=str(tmp_path / "data"),
        batch=16,
        crop=12,
        epochs=2,
        workers=0,
        prefetch=2,
        seed=0,
    )
    attempt = measure.one("torch", wrong, params, threads=1, process=0, check=False, workdir=tmp_path / "w")
    assert attempt["outcome"] == "fails" and attempt["error"]["type"] in ("ValueError", "FileNotFoundError")
    assert measure.outcome(attempt, wrong, {}, 1e-5) == ([], [], [])


def test_labels_that_differ_fail_the_check_and_say_how():
    spec = DataSpec(samples=4, height=4, width=4, classes=2, shards=1, seed=0)
    p = Pipeline(spec=spec, fmt="npy-shards", data_root="", batch=2, crop=2, epochs=2, workers=0, prefetch=2, seed=0)
    attempt = {
        "outcome": "ok",
        "format": "npy-shards",
        "workers": 0,
        "process": 0,
        "epoch_s": [0.3, 0.1, 0.1],
        "first_batch_s": 0.1,
        "import_s": 1.0,
        "peak_tree_rss_bytes": 1,
        "label_counts": [[2, 2], [3, 1]],
        "steady_cpu_s": 0.1,
        "steady_samples": 8,
        "check": {"label_counts": [2, 2], "pixel_mean": 1.0, "pixel_std": 1.0},
    }
    records, samples, checks = measure.outcome(
        attempt, p, {"label_counts": [2, 2], "pixel_mean": 1.0 + 1e-3, "pixel_std": 1.0}, 1e-5
    )
    by = {c["name"]: c for c in checks}
    assert not by["labels per epoch"]["passed"] and "[[2, 2], [3, 1]]" in by["labels per epoch"]["detail"]
    assert not by["pixel statistics"]["passed"] and by["pixel statistics"]["value"] == pytest.approx(1e-3, rel=1e-3)
    assert samples[0]["values"] == [0.1, 0.1] and samples[0]["mode"] == "workers 0"
    assert {r["metric"]: r["value"] for r in records}["samples_per_s"] == pytest.approx(40.0)


def test_the_order_is_seeded_and_each_round_holds_every_pipeline():
    a = measure.plan(["npy-shards", "files"], (0, 1, 2), 3, seed=5, job_process=0)
    assert a == measure.plan(["npy-shards", "files"], (0, 1, 2), 3, seed=5, job_process=0)
    assert a != measure.plan(["npy-shards", "files"], (0, 1, 2), 3, seed=6, job_process=0)
    for r in range(3):
        assert sorted((f, w) for rr, f, w in a if rr == r) == sorted(
            (f, w) for f in ("npy-shards", "files") for w in (0, 1, 2)
        )


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"workers": ()}, "workers"),
        ({"classes": 300}, "classes"),
        ({"crop": 100}, "crop"),
        ({"epochs": 1}, "epochs"),
        ({"page_cache": "hot"}, "page_cache"),
        ({"shards": 0}, "shards"),
    ],
)
def test_parameters_are_checked(bad, message):
    with pytest.raises(ValueError, match=message):
        measure.Params(**bad)


def test_a_loader_asked_for_a_format_it_does_not_read_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not read"):
        measure.measure_all("jax", ["tfrecord"], measure.Params(data_dir=str(tmp_path)), threads=1)
