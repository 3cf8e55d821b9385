"""Report versions: manifests are kept, the previous version is found, and only real timing moves are flagged."""

import numpy as np

from conftest import job, manifest
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report import versions
from fwbench.report.results import Report
from fwbench.store.store import Store


def _write(
    store: Store,
    run_id: str,
    step_s: float,
    *,
    seed: int,
    machine="test-cpu-00000000",
    label="testbox",
    processes=2,
    noise=0.02,
):
    store.write_manifest(manifest(run_id, machine_id=machine, label=label))
    for p in range(processes):
        doc = job(run_id, "torch", "eager", "eager", step_s, seed=seed + p, process=p)
        rng = np.random.default_rng(seed + p)
        for entry in doc["samples"]:
            entry["values"] = list(step_s * (1 + noise * rng.standard_normal(60)))
        store.write_job(doc)


def _version(store, name):
    report = Report.load(store.root)
    m = versions.current_manifest(store, report, name, {"commit": "abc", "dirty": False})
    versions.save(store, m)
    return m


def test_manifests_are_kept_and_the_previous_differing_version_is_found(tmp_path):
    store = Store(tmp_path)
    _write(store, "20260101T000000Z-a", 0.010, seed=1)
    v1 = _version(store, "v1")
    assert set(v1["runs"]) == {"20260101T000000Z-a"} and len(v1["runs"]["20260101T000000Z-a"]["sha256"]) == 64
    assert v1["verdicts"] and all(isinstance(v, str) for v in v1["verdicts"].values())
    v1b = _version(store, "v1 rebuilt")  # a rebuild with nothing new: still a kept version
    assert [h["version"] for h in versions.history(store)] == ["v1", "v1 rebuilt"]
    assert versions.previous(store, v1b) is None  # no earlier version has other runs
    _write(store, "20260102T000000Z-a", 0.010, seed=5)
    v2 = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    assert versions.previous(store, v2)["version"] == "v1 rebuilt"


def test_a_real_slowdown_is_a_regression(tmp_path):
    store = Store(tmp_path)
    _write(store, "20260101T000000Z-a", 0.010, seed=1)
    old = _version(store, "v1")
    _write(store, "20260102T000000Z-a", 0.015, seed=9)
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    changes = versions.compare(store, new, old)
    assert list(changes.added["run"]) == ["20260102T000000Z-a"]
    assert changes.compared == 2  # train and infer of the one cell
    assert set(changes.regressions["phase"]) == {"train", "infer"}
    r = changes.regressions.iloc[0]
    assert r["ratio"] > 1 and r["ci_low"] > 1.05 and r["machine"] == "testbox"
    assert changes.to_json()["regressions"]


def test_noise_is_not_a_move(tmp_path):
    store = Store(tmp_path)
    _write(store, "20260101T000000Z-a", 0.010, seed=1)
    old = _version(store, "v1")
    _write(store, "20260102T000000Z-a", 0.010, seed=77)  # same distribution, new samples
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    changes = versions.compare(store, new, old)
    assert changes.compared == 2 and changes.moves.empty


def test_a_shift_within_the_between_process_spread_is_not_a_move(tmp_path):
    """Processes of one version disagreeing by 10% make a 5% shift indistinguishable from run-to-run noise."""
    store = Store(tmp_path)
    store.write_manifest(manifest("20260101T000000Z-a"))
    for p, level in enumerate((0.010, 0.011)):
        doc = job("20260101T000000Z-a", "torch", "eager", "eager", level, seed=p, process=p)
        store.write_job(doc)
    old = _version(store, "v1")
    _write(store, "20260102T000000Z-a", 0.0109, seed=3, noise=0.005)
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    assert versions.compare(store, new, old).moves.empty


def test_moves_are_per_machine(tmp_path):
    store = Store(tmp_path)
    _write(store, "20260101T000000Z-a", 0.010, seed=1)
    _write(store, "20260101T000000Z-b", 0.020, seed=2, machine="gpu-1", label="gpubox")
    old = _version(store, "v1")
    _write(store, "20260102T000000Z-b", 0.030, seed=3, machine="gpu-1", label="gpubox")
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    changes = versions.compare(store, new, old)
    assert set(changes.moves["machine"]) == {"gpubox"} and changes.compared == 2


def test_a_partial_rerun_is_compared_on_what_re_ran_not_paired_with_itself(tmp_path):
    """Half the processes of a cell re-run 2x slower: the processes both versions share with identical samples are
    left out (paired with themselves they made an interval of [1, 1], 'equivalent'), and the move is found."""
    store = Store(tmp_path)
    _write(store, "20260101T000000Z-a", 0.010, seed=1, processes=4)
    old = _version(store, "v1")
    store.write_manifest(manifest("20260102T000000Z-a"))
    for p in (2, 3):  # only these two slots measured again
        doc = job("20260102T000000Z-a", "torch", "eager", "eager", 0.020, seed=40 + p, process=p)
        rng = np.random.default_rng(40 + p)
        for entry in doc["samples"]:
            entry["values"] = list(0.020 * (1 + 0.02 * rng.standard_normal(60)))
        store.write_job(doc)
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    changes = versions.compare(store, new, old)
    assert changes.compared == 2
    assert set(changes.regressions["phase"]) == {"train", "infer"}
    assert set(changes.regressions["processes"]) == {"2 -> 2"}


def test_a_move_says_how_much_of_it_the_whole_run_shared(tmp_path):
    """Issue 35: a new run where every JAX cell is 1/0.87 as slow (a day effect) and one Torch cell is 1.5x slower
    on top: each move carries its framework and mode's run shift from the other re-measured cells, so the JAX moves
    read as the run's (beyond the shift about 1) and the Torch one as the cell's own."""
    from synthetic.eager_vs_graph import evg_runs

    times = {
        ("jax", "eager"): 0.004,
        ("jax", "jax.jit"): 0.001,
        ("torch", "eager"): 0.003,
        ("torch", "torch.compile"): 0.002,
    }
    store = Store(tmp_path)
    for i, run_id in enumerate(("20260101T000000Z-a", "20260102T000000Z-a")):
        store.write_manifest(manifest(run_id))
        for workload in ("mlp", "rnn"):
            moved = {
                k: t
                * (1 / 0.87 if i and k[0] == "jax" else 1.0)
                * (1.5 if i and k == ("torch", "eager") and workload == "mlp" else 1.0)
                for k, t in times.items()
            }
            for doc in evg_runs(run_id, moved, seed=i, workload=workload, between=0.01, within=0.01):
                store.write_job(doc)
        if not i:
            old = _version(store, "v1")
    new = versions.current_manifest(store, Report.load(store.root), "v2", {"commit": "def"})
    changes = versions.compare(store, new, old)
    margin = np.log1p(EQUIVALENCE_MARGIN)
    jax = changes.moves[changes.moves["framework"] == "jax"]
    assert len(jax) == 8 and (jax["direction"] == "slower").all()
    assert (np.abs(np.log(jax["run_shift"] * 0.87)) < margin).all() and (
        np.abs(np.log(jax["beyond_shift"])) < margin
    ).all()
    own = changes.moves[
        (changes.moves["framework"] == "torch")
        & (changes.moves["workload"] == "mlp")
        & (changes.moves["variant"] == "eager")
    ]
    assert len(own) == 2 and (np.abs(np.log(own["run_shift"])) < margin).all()
    assert (np.abs(np.log(own["beyond_shift"] / 1.5)) < margin).all()
    assert all("run_shift" in m for m in changes.to_json()["moved"])
