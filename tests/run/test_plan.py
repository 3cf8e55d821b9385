"""`plan` says what `run` would do: editing one experiment's book side or measuring code re-runs exactly its jobs."""

import pytest

import package_copy
from conftest import manifest
from fwbench import SCHEMA_VERSION
from fwbench.experiments import registry
from fwbench.matrix.profile import load_profile
from fwbench.measure import fingerprint
from fwbench.run.inputs import Inputs
from fwbench.store.store import Store
from tiers import tiered

# In the slow part's process (scripts/run_tests.py): without the end-to-end test, as in `make test`, that part
# would end minutes before the other.
pytestmark = pytest.mark.with_slow

PROFILE = "quick"  # every experiment


def stored_job(run_id: str, job, key: str, **extra) -> dict:
    """A successful stored result of a planned job, under `key`, with nothing measured in it."""
    fields = ("experiment", "framework", "device", "workload", "variant", "mode", "params", "process")
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": job.job_id,
        "job_key": key,
        **{f: getattr(job, f) for f in fields},
        "status": "ok",
        "records": [],
        "samples": {},
        "checks": [],
        "error": None,
        **extra,
    }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A copy of the project and a store holding a result for every job of the profile, as the copy is now."""
    root = tmp_path_factory.mktemp("plan")
    copy = package_copy.make(root / "copy")
    profile = load_profile(PROFILE)
    inputs = Inputs.of(profile.jobs, fingerprint.collect())  # the copy's files are the same bytes: the same keys
    store = Store(root / "store")
    run_id = "20260101T000000Z-seeded"
    with store.lock():
        doc = manifest(run_id, machine_id=inputs.fingerprint["machine_id"])
        doc.update(jobs=[j.job_id for j in profile.jobs], inputs=inputs.manifest_entry())
        store.write_manifest(doc)
        for job in profile.jobs:
            store.write_job(stored_job(run_id, job, inputs.keys[job.job_id]))
    return copy, store.root, profile


def planned(copy, store) -> dict[str, str]:
    proc = package_copy.run(copy, "plan", "--profile", PROFILE, store=store)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(None, 2) for line in proc.stdout.splitlines() if line.startswith(("run ", "reuse "))]
    return {job_id: action + (f" {rest[0]}" if rest else "") for action, job_id, *rest in rows}, proc.stdout


def append(path, text):
    path.write_text(path.read_text() + text)


def test_nothing_changed_reuses_every_job(seeded):
    copy, store, profile = seeded
    plan, out = planned(copy, store)
    assert set(plan) == {j.job_id for j in profile.jobs}
    assert all(a == "reuse" for a in plan.values()), out


# The same key logic for each experiment folder: `make test` checks eager_vs_graph, the full tier every one.
@pytest.mark.parametrize("experiment", tiered(list(registry()), lambda name: name == "eager_vs_graph"))
def test_an_experiments_book_side_never_reruns_a_job_and_its_measuring_code_reruns_only_its_own(seeded, experiment):
    copy, store, profile = seeded
    folder = copy / "experiments" / experiment
    originals = {p: p.read_text() for p in folder.glob("*") if p.suffix in (".py", ".md")}
    try:
        for name in ("tables.py", "plots.py", "claims.py", "views.py", "experiment.py"):
            if (folder / name).is_file():
                append(folder / name, "\n# an edit to what the book shows\n")
        append(folder / "chapter.md", "\nAn edited sentence.\n")
        plan, out = planned(copy, store)
        assert all(a == "reuse" for a in plan.values()), out

        append(folder / "measure.py", "\n# an edit to what a job runs\n")
        plan, out = planned(copy, store)
        for job in profile.jobs:
            if job.experiment == experiment:
                assert plan[job.job_id].startswith("run [code changed"), out
            else:
                assert plan[job.job_id] == "reuse", (job.job_id, out)
        assert f"changed: experiments/{experiment}/measure.py" in out
    finally:
        for path, text in originals.items():
            path.write_text(text)


def test_where_a_cache_folder_points_does_not_change_a_key():
    """Keys compare what changes a number: OMP_NUM_THREADS does, where TorchInductor keeps its cache (the temp folder,
    a home folder, a checkout) does not; whether it is set still does."""
    from fwbench.run.inputs import environment_key

    fp = {"machine_id": "m", "python": {"version": "3.11"}, "packages": {}, "environment": {"OMP_NUM_THREADS": "2"}}

    def key(**env):
        return environment_key({**fp, "environment": {**fp["environment"], **env}}, 2)

    assert key(TORCHINDUCTOR_CACHE_DIR="/tmp/torchinductor_root") == key(TORCHINDUCTOR_CACHE_DIR="<tmp>/x")
    assert key(TORCHINDUCTOR_CACHE_DIR="/tmp/x") != key()
    assert key(OMP_NUM_THREADS="1") != key()


def test_plan_shows_the_expected_time_per_experiment_and_says_when_it_is_over_the_budget(tmp_path):
    """The real CLI on a store this machine measured into: a cell's stored time (its key changed since), the
    experiment's median for a cell never stored, each experiment's default where nothing is; then the budget line."""
    import os
    import subprocess
    import sys

    from fwbench.paths import REPO

    path = tmp_path / "budget.yml"
    path.write_text(
        "name: budget\nbudget_min: 0.1\nexperiments:\n"
        "  eager_vs_graph: {frameworks: [torch], devices: [cpu], workloads: [mlp, rnn], processes: 3,\n"
        "                   max_processes: 4}\n"
        "  debugging: {frameworks: [torch]}\n"
    )
    profile = load_profile(str(path))
    mlp = [j for j in profile.jobs if j.experiment == "eager_vs_graph" and j.workload == "mlp"]
    store = Store(tmp_path / "store")
    run_id = "20260101T000000Z-seeded"
    with store.lock():
        doc = manifest(run_id, machine_id=fingerprint.collect()["machine_id"])
        doc.update(jobs=[j.job_id for j in mlp])
        store.write_manifest(doc)
        for job, seconds in zip(mlp, (30.0, 6.0, 6.0)):
            store.write_job(stored_job(run_id, job, "an older key", duration_s=seconds))
    proc = subprocess.run(
        [sys.executable, "-m", "fwbench", "--store", str(store.root), "plan", "--profile", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("  ")}
    debugging = [j for j in profile.jobs if j.experiment == "debugging"]
    default = len(debugging) * registry()["debugging"].default_job_s
    # mlp's three from their stored times, rnn's three at the median (6 s); one more process each at most
    graph_s = 30 + 6 + 6 + 3 * 6.0
    assert rows["eager_vs_graph"] == [
        "6",
        "0",
        f"{graph_s / 60:.1f}",
        f"{(graph_s + 6 + 6) / 60:.1f}",
        "stored",
        "3,",
        "same",
        "experiment",
        "3",
    ]
    assert rows["debugging"] == [str(len(debugging)), "0", f"{default / 60:.1f}", f"{default / 60:.1f}", "default"]
    assert rows["total"][:3] == [str(len(profile.jobs)), "0", f"{(graph_s + default) / 60:.1f}"]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"fwbench: warning: expected {(graph_s + default) / 60:.1f} min, over this profile's budget of 0.1 min"
    )
