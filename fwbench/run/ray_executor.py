"""The Ray executor: a profile's jobs as Ray tasks on a cluster's measuring nodes, one benchmark per node at a time.

A measuring node advertises one whole measuring slot, the custom resource `fwbench_slot: 1`, and its hardware class,
the node label `fwbench/class`. Every measuring task takes the slot, so two never share a node; the head node, a
scheduler only, has no slot. The slot is a resource because it is a quantity taken and given back; the class is a
label because it is a property selected on (Ray's scheduling guide: custom resources only where scheduling needs
numbers; labels for what a node is). Each class is one kind of machine and runs its share of the profile as one run
of the store, with the fingerprint its own nodes collected, so keys and reuse are per machine as on a local run.
Ray is imported only here, and only by `--executor ray`.
"""

from __future__ import annotations

import contextlib
import itertools
from concurrent.futures import ThreadPoolExecutor

from fwbench.errors import InputError, StoreError
from fwbench.experiments import EXPERIMENTS
from fwbench.matrix.profile import Profile, parse_profile
from fwbench.run import ray_task
from fwbench.run.executor import Outcome, Target
from fwbench.run.jobkey import code_files
from fwbench.run.runner import RunOptions, _failure_doc, _now

SLOT = "fwbench_slot"
CLASS_LABEL = "fwbench/class"
#: Seconds between looks at the cluster while a class's jobs run: a class whose last node died ends its jobs.
POLL_S = 5.0
#: Times a job whose node died is started again on another node of its class.
RETRIES = 1


def _ray():
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray: pip install 'fwbench[ray]' (or make ray-setup)") from None
    return ray


class RayExecutor:
    """Runs each hardware class's jobs on its nodes, the classes side by side (fwbench.run.executor.Executor)."""

    name = "ray"

    def __init__(self, address: str, options: RunOptions = RunOptions()):
        self.address = address
        self.options = options
        self._tasks: dict = {}

    @contextlib.contextmanager
    def session(self):
        ray = _ray()
        try:
            # Connecting starts nothing (no dashboard); the workers' output stays in their logs.
            ray.init(address=self.address, log_to_driver=False, logging_level="WARNING", configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise StoreError(
                f"cannot reach a Ray cluster at {self.address}: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None
        try:
            self._tasks = {
                name: ray.remote(max_calls=1, num_cpus=0, max_retries=0)(getattr(ray_task, name))
                for name in ("describe_node", "node_load", "run_job", "clean_run")
            }
            yield
        finally:
            ray.shutdown()

    def task(self, name: str, node_id: str | None = None, hardware_class: str | None = None):
        """A node-side function (fwbench.run.ray_task) as a task that takes a measuring slot: in a fresh worker
        process (max_calls=1, so no state crosses jobs), on the named node or on any node of the class."""
        selector = {"ray.io/node-id": node_id} if node_id else {CLASS_LABEL: hardware_class}
        return self._tasks[name].options(resources={SLOT: 1}, label_selector=selector)

    def lost(self, node_ids) -> list[str]:
        """Those of `node_ids` that the cluster now knows as dead."""
        dead = {n["NodeID"] for n in _ray().nodes() if not n.get("Alive")}
        return sorted(n for n in node_ids if n in dead)

    def nodes(self, hardware_class: str | None = None) -> list[dict]:
        """The live measuring nodes (of one class)."""
        out = []
        for node in _ray().nodes():
            labels, resources = node.get("Labels") or {}, node.get("Resources") or {}
            if not node.get("Alive") or not resources.get(SLOT):
                continue
            if CLASS_LABEL not in labels:
                raise InputError(
                    f"Ray node {node['NodeID'][:8]} has a measuring slot ({SLOT}) but no '{CLASS_LABEL}' "
                    f"label: start it with --labels {CLASS_LABEL}=<hardware class>"
                )
            if resources[SLOT] != 1:
                raise InputError(
                    f"Ray node {node['NodeID'][:8]} advertises {resources[SLOT]:g} measuring slots: "
                    f"a node measures one benchmark at a time, give it {SLOT}: 1"
                )
            if hardware_class is None or labels[CLASS_LABEL] == hardware_class:
                out.append(node)
        return out

    def targets(self, profile: Profile) -> list[Target]:
        ray = _ray()
        nodes = self.nodes()
        if not nodes:
            raise InputError(
                f"no node of the Ray cluster at {self.address} has a measuring slot: start measuring "
                f"nodes with --resources '{{\"{SLOT}\": 1}}' --labels {CLASS_LABEL}=<hardware class>"
            )
        classes = sorted({n["Labels"][CLASS_LABEL] for n in nodes})
        pinned = sorted({c for job in profile.jobs for c in job.classes} - set(classes))
        if pinned:
            raise InputError(
                f"the profile pins jobs to hardware class(es) {', '.join(pinned)}, which no live node of "
                f"the cluster has (it has: {', '.join(classes)})"
            )
        experiments = sorted({job.experiment for job in profile.jobs})
        # Every node describes itself in a slot of its own, all at once: a class is refused if its nodes differ.
        described = self._on_each(nodes, "describe_node", experiments)
        mine = {n: code_files(EXPERIMENTS[n].measure_module, EXPERIMENTS[n].notebook_path) for n in experiments}
        targets = []
        for hardware_class in classes:
            members = sorted(
                (d for d, n in zip(described, nodes) if n["Labels"][CLASS_LABEL] == hardware_class),
                key=lambda d: d["node_id"],
            )
            for d in members:
                _same_build(d, mine, hardware_class)
            kinds = sorted({d["fingerprint"]["machine_id"] for d in members})
            if len(kinds) > 1:
                raise InputError(
                    f"hardware class {hardware_class} holds different machines ({', '.join(kinds)}): "
                    f"give each kind of machine a class of its own"
                )
            first = members[0]
            jobs = tuple(
                job
                for job in parse_profile(profile.source, profile.name, gpu=first["gpu"]).jobs
                if not job.classes or hardware_class in job.classes
            )
            if not jobs:
                continue
            targets.append(
                Target(
                    first["fingerprint"],
                    jobs,
                    hardware_class=hardware_class,
                    cpus=first["cpus"],
                    load=_Load(self, hardware_class, first["load"]),
                    record={
                        "name": "ray",
                        "ray_version": ray.__version__,
                        "hardware_class": hardware_class,
                        "nodes": [d["node_id"] for d in members],
                        **first["undone"],
                    },
                )
            )
        return targets

    def _on_each(self, nodes: list[dict], name: str, *args) -> list:
        """Task `name` on each of `nodes` in its slot (after the job it may be measuring), the results in order; a
        node lost meanwhile stops the command in one line rather than leave its task waiting for it forever."""
        ray = _ray()
        refs = {self.task(name, node_id=n["NodeID"]).remote(*args): n["NodeID"] for n in nodes}
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
            gone = self.lost([refs[r] for r in pending])
            if gone:
                raise StoreError(f"Ray node {gone[0][:12]} was lost before it could describe itself: run again")
        try:
            return ray.get(list(refs))
        except ray.exceptions.RayError as exc:
            raise StoreError(
                f"a Ray node could not describe itself ({type(exc).__name__}: "
                f"{(str(exc).splitlines() or [''])[0][:300]})"
            ) from None

    def lane(self, target: Target, run_id: str, keep) -> "RayLane":
        return RayLane(self, target, run_id)

    def each(self, targets, work) -> list:
        if len(targets) <= 1:
            return [work(t) for t in targets]
        with ThreadPoolExecutor(max_workers=len(targets), thread_name_prefix="fwbench-class") as pool:
            return [f.result() for f in [pool.submit(work, t) for t in targets]]


def _same_build(described: dict, mine: dict, hardware_class: str) -> None:
    """Refuse a node whose jobs would run other fwbench source than the keys are made from."""
    for name, files in mine.items():
        theirs = described["code"].get(name, {})
        differ = sorted(p for p in set(files) | set(theirs) if files.get(p) != theirs.get(p))
        if differ:
            raise InputError(
                f"node {described['node_id'][:8]} ({hardware_class}) has other fwbench source than this "
                f"driver ({', '.join(differ[:3])}{' ...' if len(differ) > 3 else ''}): check out the "
                f"same commit on every node"
            )


class _Load:
    """A class's machine load: the nodes' own reading at the start, then a fresh one from a node of the class."""

    def __init__(self, executor: RayExecutor, hardware_class: str, first: dict):
        self.executor, self.hardware_class, self.first = executor, hardware_class, first

    def __call__(self) -> dict:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        ray = _ray()
        return ray.get(self.executor.task("node_load", hardware_class=self.hardware_class).remote())


class RayLane:
    """One class's jobs of one run: as many in flight as the class has live nodes, each retried once on another
    node of the class if its node dies (fwbench.run.executor.Lane)."""

    def __init__(self, executor: RayExecutor, target: Target, run_id: str):
        self.executor, self.target, self.run_id = executor, target, run_id
        self.hardware_class = target.hardware_class
        self.in_flight: dict = {}  # object ref -> (handle, job, tries, what was lost before)
        self.ready: list = []
        self._ids = itertools.count()
        self.seen = set((target.record or {}).get("nodes", ()))  # every node of the class this run has known

    def live(self) -> list[dict]:
        """The class's live measuring nodes now (and remember them, to name them if they are lost)."""
        nodes = self.executor.nodes(self.hardware_class)
        self.seen.update(n["NodeID"] for n in nodes)
        return nodes

    def capacity(self) -> int:
        return len(self.live())

    def schedule(self, batch) -> None:
        pass  # a cell's folders stay on its nodes until the run ends (close)

    def submit(self, index: int, job) -> int:
        handle = next(self._ids)
        self._start(handle, job, 0, "")
        return handle

    def _start(self, handle: int, job, tries: int, lost: str) -> None:
        if not self.live():
            self.ready.append((handle, self._no_node(job, lost)))
            return
        ref = self.executor.task("run_job", hardware_class=self.hardware_class).remote(
            job, self.run_id, self.hardware_class
        )
        self.in_flight[ref] = (handle, job, tries, lost)

    def _no_node(self, job, lost: str) -> Outcome:
        """The job's class has no live node left: it fails now rather than wait for one (Ray would wait forever)."""
        gone = self.executor.lost(self.seen)
        return self._failed(
            job,
            f"no node of hardware class {self.hardware_class} is alive"
            + (f" (lost: {', '.join(n[:12] for n in gone)})" if gone else "")
            + (f"; {lost}" if lost else ""),
        )

    def _failed(self, job, message: str) -> Outcome:
        now = _now()
        error = {"type": "NodeLost", "message": message, "traceback": ""}
        return Outcome(
            {**_failure_doc(job, error), "status": "failed", "duration_s": 0.0},
            now,
            now,
            executor={"name": "ray", "hardware_class": self.hardware_class},
        )

    def wait(self) -> tuple[int, Outcome]:
        ray = _ray()
        while True:
            if self.ready:
                return self.ready.pop(0)
            done, _ = ray.wait(list(self.in_flight), num_returns=1, timeout=POLL_S)
            if not done:
                if not self.live():  # nothing left to run them: they end here
                    for ref, (handle, job, _, lost) in list(self.in_flight.items()):
                        ray.cancel(ref, force=True)
                        del self.in_flight[ref]
                        self.ready.append((handle, self._no_node(job, lost)))
                continue
            ref = done[0]
            handle, job, tries, lost = self.in_flight.pop(ref)
            try:
                data = ray.get(ref)
                why = data.get("lost")  # the task outlived its node's raylet: what it saw is not a result
            except ray.exceptions.RayTaskError as exc:  # the node-side code raised: a result, not a lost node
                return handle, self._failed(job, f"the task failed on its node: {str(exc).splitlines()[0][:500]}")
            except ray.exceptions.RayError as exc:  # its node or worker died mid-job: nothing of it was stored
                why = f"its node was lost mid-job ({type(exc).__name__})"
            if why:
                if tries < RETRIES:
                    self._start(handle, job, tries + 1, why)
                    continue
                return handle, self._failed(job, f"{why}, and again on its retry")
            if lost:
                data["executor"]["retried"] = lost
            return handle, Outcome(**data)

    def done(self, index: int, job) -> None:
        pass

    def close(self) -> None:
        """Cancel what still runs (a run stopped by an error) and clear the run's folders from the class's nodes."""
        ray = _ray()
        for ref in list(self.in_flight):
            ray.cancel(ref, force=True)
        self.in_flight.clear()
        with contextlib.suppress(ray.exceptions.RayError, InputError):
            refs = [
                self.executor.task("clean_run", node_id=n["NodeID"]).remote(self.run_id)
                for n in self.executor.nodes(self.hardware_class)
            ]
            ray.get(refs, timeout=120)
