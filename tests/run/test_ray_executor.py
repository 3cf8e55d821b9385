"""The Ray executor on a real local Ray cluster (a head without a measuring slot, worker nodes with one each): a
profile runs through `--executor ray`, every job lands with its node's fingerprint, no two jobs overlap on a node
even with two drivers at once, reruns reuse everything, and a node killed mid-job costs a retry, not a result.

The cluster runs a copy of the project (tests/package_copy.py, its own store and runner lock), so `make test` runs
these in the slow end-to-end test's process (`with_slow`): about three minutes there, which the other process took
alone before (the rest ended 8 minutes after the slow part on the 2-vCPU AMD VM)."""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

import package_copy
from fwbench.run.ray_executor import CLASS_LABEL, SLOT  # imports no Ray: only its use does
from tiers import EXTENDED

pytestmark = pytest.mark.with_slow

ray = pytest.importorskip("ray", reason="Ray is not installed (an optional extra: pip install 'fwbench[ray]')")

#: An experiment whose jobs take a little while and show what they see: long enough that two sharing a node would
#: overlap in their stored times, and that a node can be killed mid-job.
NAPPER = {
    "__init__.py": '"""Napper: a job that naps and shows its thread settings (proves the Ray executor)."""\n',
    "experiment.py": '''"""The napper experiment's declaration."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.napper.measure import Params

EXPERIMENT = Experiment(name="napper", title="Napper", params=Params, variants_of=lambda fw: {"nap": "eager"},
                        workloads=("numbers",), default_processes=2)
''',
    "measure.py": '''"""What a napper job runs."""

import os
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Params:
    """How long to nap."""

    nap_s: float = field(default=1.0, metadata={"help": "seconds asleep", "bounds": "seconds"})


def run(job):
    time.sleep(job.params.nap_s)
    return {"records": [], "checks": [], "samples": [],
            "seen": {"omp": os.environ.get("OMP_NUM_THREADS"), "label": os.environ.get("FWBENCH_MACHINE_LABEL")}}
''',
    "chapter.md": "# Napper\n",
}

PROFILE = """name: napper
experiments:
  napper:
    frameworks: [torch]
  napper@solo:
    frameworks: [torch]
    processes: 1
    params: {nap_s: 0.5}
pins:
  experiments: {napper@solo: [cpu-b]}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from ray.cluster_utils import Cluster

    root = tmp_path_factory.mktemp("ray")
    copy = package_copy.make(root / "copy")
    package_copy.add_experiment(copy, "napper", NAPPER)
    env = package_copy.env(copy, root / "unused")

    def node(name: str, hardware_class: str, **env: str):
        # Each node a temporary folder of its own, hence a machine lock of its own, as on separate machines.
        tmp = root / f"tmp-{name}"
        tmp.mkdir()
        return c.add_node(
            num_cpus=1,
            resources={SLOT: 1},
            labels={CLASS_LABEL: hardware_class},
            env_vars={"PYTHONPATH": str(copy), "TMPDIR": str(tmp), "FWBENCH_MACHINE_LABEL": f"node {name}", **env},
        )

    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "env_vars": {"PYTHONPATH": env["PYTHONPATH"], "TMPDIR": env["TMPDIR"]},
        },
    )
    c.copy, c.root, c.add = copy, root, node
    c.nodes_by_name = {"a1": node("a1", "cpu-a"), "b": node("b", "cpu-b")}
    yield c
    c.shutdown()


def _fwbench(cluster, store: Path, *args: str) -> subprocess.CompletedProcess:
    return package_copy.run(cluster.copy, *args, store=store, timeout=600)


def _ray_run(cluster, store: Path, profile: Path, *more: str) -> subprocess.CompletedProcess:
    return _fwbench(
        cluster,
        store,
        "run",
        "--profile",
        str(profile),
        "--no-progress",
        "--executor",
        "ray",
        "--address",
        cluster.address,
        *more,
    )


def _stored(store: Path) -> tuple[dict, list[dict]]:
    manifests = {p.parent.name: json.loads(p.read_text()) for p in (store / "runs").glob("*/manifest.json")}
    jobs = [json.loads(p.read_text()) for p in (store / "runs").glob("*/jobs/*.json")]
    return manifests, jobs


def _overlaps(jobs: list[dict]) -> list[tuple[str, str]]:
    """Pairs of jobs whose stored [started, finished] intervals overlap on one node (times are to the second, so
    one starting in the second another ended is not an overlap)."""
    by_node: dict[str, list[dict]] = {}
    for job in jobs:
        by_node.setdefault(job["executor"]["node_id"], []).append(job)
    found = []
    for runs in by_node.values():
        runs.sort(key=lambda j: (j["started"], j["finished"]))
        found += [(a["job_id"], b["job_id"]) for a, b in zip(runs, runs[1:]) if b["started"] < a["finished"]]
    return found


def test_a_profile_runs_on_the_clusters_classes_one_job_per_node_and_reruns_reuse_it(cluster, tmp_path):
    profile = tmp_path / "napper.yml"
    profile.write_text(PROFILE)
    stores = [tmp_path / "one", tmp_path / "two"]
    # Two drivers at once on one cluster: only the measuring slot keeps their jobs apart on each node.
    results: dict = {}
    threads = [threading.Thread(target=lambda s=s: results.update({s: _ray_run(cluster, s, profile)})) for s in stores]
    for t in threads:
        t.start()
        time.sleep(1)
    for t in threads:
        t.join()
    everything = []
    for store in stores:
        ran = results[store]
        assert ran.returncode == 0 and "5 executed, 0 reused, 0 failed" in ran.stdout, ran.stdout + ran.stderr
        manifests, jobs = _stored(store)
        everything += jobs
        assert len(manifests) == 2 and len(jobs) == 5
        by_class = {m["executor"]["hardware_class"]: m for m in manifests.values()}
        assert sorted(by_class) == ["cpu-a", "cpu-b"]
        node_names = {m["executor"]["nodes"][0]: m["fingerprint"]["machine_label"] for m in manifests.values()}
        assert sorted(node_names.values()) == ["node a1", "node b"]  # each run carries its own node's fingerprint
        for job in jobs:
            manifest = manifests[job["run_id"]]
            assert job["status"] == "ok" and job["executor"]["node_id"] in manifest["executor"]["nodes"]
            assert job["executor"]["hardware_class"] == manifest["executor"]["hardware_class"]
            assert job["seen"]["label"] == manifest["fingerprint"]["machine_label"]
            # Ray had set OMP_NUM_THREADS=1 in its worker; fwbench's own settings were in force in the job, and
            # what Ray had set is recorded.
            assert job["executor"]["ray_set"].get("OMP_NUM_THREADS") == "1"
            assert job["seen"]["omp"] == str(job["settings"]["threads"]) == job["settings"]["env"]["OMP_NUM_THREADS"]
            assert "OMP_NUM_THREADS" not in manifest["fingerprint"]["environment"]
        # The pinned block ran on its class only.
        solo = [j for j in jobs if j["params"]["nap_s"] == 0.5]
        assert len(solo) == 1 and solo[0]["executor"]["hardware_class"] == "cpu-b"
        assert _fwbench(cluster, store, "validate").returncode == 0
    assert not _overlaps(everything)
    assert len({j["executor"]["node_id"] for j in everything}) == 2

    again = _ray_run(cluster, stores[0], profile)
    assert again.returncode == 0 and "0 executed, 5 reused" in again.stdout, again.stdout + again.stderr
    # The keys were made from the nodes' own fingerprints: this machine, running locally, reuses them too.
    local = _fwbench(cluster, stores[0], "run", "--profile", str(profile), "--no-progress")
    assert local.returncode == 0 and "0 executed, 3 reused" in local.stdout, local.stdout + local.stderr


@EXTENDED  # node failures: the full tier (tests/tiers.py); `make test` runs a whole cluster profile above
def test_a_node_killed_mid_job_costs_a_retry_on_another_node_of_its_class(cluster, tmp_path):
    spare = cluster.add("a2", "cpu-a")
    profile = tmp_path / "long.yml"
    profile.write_text(
        "name: long\nexperiments:\n  napper:\n    frameworks: [torch]\n    processes: 3\n"
        "    params: {nap_s: 6}\npins:\n  experiments: {napper: [cpu-a]}\n"
    )
    store = tmp_path / "store"
    started = {}
    runner = threading.Thread(target=lambda: started.update(run=_ray_run(cluster, store, profile)))
    runner.start()
    nodes = {"a1": cluster.nodes_by_name["a1"], "a2": spare}
    victim, deadline = None, time.monotonic() + 180
    while victim is None:  # a job is in flight where its node's folder of the run holds a work folder
        assert time.monotonic() < deadline, "no job started on a cpu-a node"
        victim = next((name for name in nodes if list((cluster.root / f"tmp-{name}").glob("fwbr-*/jobs/*"))), None)
        time.sleep(0.2)
    time.sleep(1)
    cluster.remove_node(nodes[victim])
    runner.join()
    ran = started["run"]
    assert ran.returncode == 0 and "3 executed, 0 reused, 0 failed" in ran.stdout, ran.stdout + ran.stderr
    assert _fwbench(cluster, store, "validate").returncode == 0
    _, jobs = _stored(store)
    retried = [j for j in jobs if j["executor"].get("retried")]
    assert retried and all("lost mid-job" in j["executor"]["retried"] for j in retried)
    survivor = {"a1": spare, "a2": cluster.nodes_by_name["a1"]}[victim]
    assert all(j["executor"]["node_id"] == survivor.node_id for j in retried)
    again = _ray_run(cluster, store, profile)
    assert "0 executed, 3 reused" in again.stdout, again.stdout + again.stderr


@EXTENDED  # node failures: the full tier (tests/tiers.py); `make test` runs a whole cluster profile above
def test_a_class_whose_only_node_dies_stores_its_job_as_lost_and_a_rerun_fills_the_gap(cluster, tmp_path):
    profile = tmp_path / "lonely.yml"
    profile.write_text(
        "name: lonely\nexperiments:\n  napper@a:\n    frameworks: [torch]\n    processes: 2\n"
        "    params: {nap_s: 2}\n  napper@b:\n    frameworks: [torch]\n    processes: 1\n"
        "    params: {nap_s: 20}\npins:\n  experiments: {napper@a: [cpu-a], napper@b: [cpu-b]}\n"
    )
    store = tmp_path / "store"
    started = {}
    runner = threading.Thread(target=lambda: started.update(run=_ray_run(cluster, store, profile)))
    runner.start()
    lonely = cluster.nodes_by_name["b"]
    deadline = time.monotonic() + 180
    while not list((cluster.root / "tmp-b").glob("fwbr-*/jobs/*")):  # its one job is in flight
        assert time.monotonic() < deadline, "no job started on the cpu-b node"
        time.sleep(0.2)
    time.sleep(1)
    killed = time.monotonic()
    cluster.remove_node(lonely)
    runner.join()
    ended_s = time.monotonic() - killed
    ran = started["run"]
    # The other class measured its jobs; the lost one is a stored failure, not a hang or a crash of the run.
    assert ran.returncode == 1 and "3 executed, 0 reused, 1 failed" in ran.stdout, ran.stdout + ran.stderr
    assert ended_s < 120, f"the run took {ended_s:.0f} s to give up on a class with no live node"
    assert _fwbench(cluster, store, "validate").returncode == 0
    manifests, jobs = _stored(store)
    by_class = {m["executor"]["hardware_class"]: m for m in manifests.values()}
    assert by_class["cpu-a"]["counts"]["executed"] == 2 and by_class["cpu-b"]["counts"]["failed"] == 1
    assert by_class["cpu-a"]["counts"]["failed"] == 0
    (lost,) = [j for j in jobs if j["status"] == "failed"]
    assert lost["params"]["nap_s"] == 20 and lost["error"]["type"] == "NodeLost"
    assert lonely.node_id[:12] in lost["error"]["message"] and "\n" not in lost["error"]["message"]
    assert all(j["status"] == "ok" and j["executor"]["hardware_class"] == "cpu-a" for j in jobs if j is not lost)

    cluster.nodes_by_name["b"] = cluster.add("b2", "cpu-b")
    again = _ray_run(cluster, store, profile)
    assert again.returncode == 0 and "1 executed, 2 reused, 0 failed" in again.stdout, again.stdout + again.stderr
    assert _fwbench(cluster, store, "validate").returncode == 0


@EXTENDED  # the full tier: `make test` runs the cluster profile above, which plans from the same fingerprints
def test_plan_shows_each_classs_jobs_against_the_machine_its_nodes_fingerprint_as(cluster, tmp_path):
    # A class whose nodes' environment differs from this machine's in a variable that keys results: its jobs' keys
    # are its own, so only a plan made from its nodes' fingerprint says what a cluster run would reuse.
    cluster.add("c", "cpu-c", MKL_CBWR="COMPATIBLE")
    profile = tmp_path / "classes.yml"
    profile.write_text(
        "name: classes\nexperiments:\n  napper@b:\n    frameworks: [torch]\n    processes: 1\n"
        "    params: {nap_s: 0.2}\n  napper@c:\n    frameworks: [torch]\n    processes: 1\n"
        "    params: {nap_s: 0.3}\npins:\n  experiments: {napper@b: [cpu-b], napper@c: [cpu-c]}\n"
    )
    store = tmp_path / "store"
    store.mkdir()

    def plan(*executor: str) -> str:
        ran = _fwbench(cluster, store, "plan", "--profile", str(profile), *executor)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran.stdout

    ray_plan = ("--executor", "ray", "--address", cluster.address)
    before = plan(*ray_plan).splitlines()
    heads = [i for i, line in enumerate(before) if line.startswith("fwbench: plan: class ")]
    assert [before[i].split()[3] for i in heads] == ["cpu-b:", "cpu-c:"], before
    assert "(node c)" in before[heads[1]]  # the label its node reported, not this machine's
    assert [line.split()[0] for line in before if line.startswith(("run ", "reuse "))] == ["run", "run"], before
    assert before[heads[1] - 1].startswith("fwbench: plan: 1 to run, 0 reused, 1 jobs"), before
    assert before[-1].startswith("fwbench: plan: 1 to run, 0 reused, 1 jobs"), before
    assert "never measured on this machine" in before[heads[1] + 1], before

    ran = _ray_run(cluster, store, profile)
    assert ran.returncode == 0 and "2 executed" in ran.stdout, ran.stdout + ran.stderr
    after = plan(*ray_plan)
    assert after.count("fwbench: plan: 0 to run, 1 reused, 1 jobs") == 2, after
    # This machine's own plan keys the cpu-c job with this machine's environment: for it, that job is still to run.
    local = plan()
    assert "fwbench: plan: 1 to run, 1 reused, 2 jobs" in local and "environment changed: environment" in local, local
