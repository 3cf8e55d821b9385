"""Profiles (YAML) and their expansion into jobs; every name and value is checked before anything runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import re
import shutil
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fwbench import frameworks
from fwbench.errors import MatrixError
from fwbench.experiments import EXPERIMENTS
from fwbench.experiments.base import BOUNDS, MAX_ITEMS, Bound
from fwbench.paths import PROFILES
from fwbench.workloads import WORKLOADS

PROFILE_DIR = PROFILES
DEVICES = ("cpu", "cuda", "auto")
_PROFILE_KEYS = {
    "name",
    "description",
    "threads",
    "timeout_s",
    "seed",
    "machine_label",
    "budget_min",
    "experiments",
    "pins",
}
#: A hardware class: the value of a Ray node label (fwbench.run.ray_executor), hence Ray's (and Kubernetes') syntax.
CLASS_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")
_EXPERIMENT_KEYS = {
    "frameworks",
    "devices",
    "workloads",
    "variants",
    "params",
    "processes",
    "replacement_processes",
    "max_processes",
}
#: A profile file's size at most, checked before it is parsed: the committed ones are under 3 KB, and the pure-Python
#: YAML parser (pure so that aliases can be refused) takes about a second per 100 KB.
MAX_PROFILE_BYTES = 64 * 1024
#: Nesting at most: a profile is mapping > experiments > block > params > list > item, six deep; a deeper one is a
#: mistake, or an attack on the YAML composer's recursion.
MAX_DEPTH = 16
#: Jobs a profile may expand to at most, checked block by block before they are made: each job is a fresh notebook
#: kernel that imports its framework (tens of seconds at least), so 10 000 are days of machine time; the full
#: profile expands to about 200.
MAX_JOBS = 10_000
#: A profile's `budget_min`: past a week it is a typo (seconds for minutes); the full profile takes hours.
BUDGET = Bound(
    0, 7 * 24 * 60, "a run's budget past a week is a typo (seconds for minutes?); the full profile takes hours"
)


@dataclass(frozen=True)
class Job:
    """One notebook execution: a single cell of the matrix."""

    experiment: str = field(metadata={"help": "experiment name (a key of fwbench.experiments.EXPERIMENTS)"})
    framework: str = field(metadata={"help": "framework adapter name"})
    device: str = field(metadata={"help": "'cpu' or 'cuda'"})
    workload: str = field(metadata={"help": "workload name"})
    variant: str = field(
        metadata={
            "help": "the framework's variant (eager, torch.compile, jax.jit, ...) or debugging tool; "
            "for an interleaved experiment, every variant the job measures, comma-separated"
        }
    )
    params: dict = field(metadata={"help": "the experiment's parameters, complete with defaults"})
    threads: int | str = field(
        default="auto", metadata={"help": "threads for every framework ('auto' = all usable CPUs)"}
    )
    timeout_s: float = field(default=900.0, metadata={"help": "per-cell execution timeout of the notebook"})
    process: int = field(
        default=0, metadata={"help": "which of the cell's separate processes this is (0 runs with cold caches)"}
    )
    replacements: int = field(
        default=0,
        metadata={
            "help": "fresh processes the runner may add to the cell, after its planned ones, while one of its series has "
            "fewer stable processes than planned (fwbench.run.replace)"
        },
    )
    max_processes: int = field(
        default=0,
        metadata={
            "help": "sequential design (fwbench.run.sequential): the most processes the cell may get, one more per round "
            "while a comparison it takes part in is undecided; 0 for a fixed number of processes"
        },
    )
    classes: tuple = field(
        default=(),
        metadata={
            "help": "the hardware classes that may run it on a Ray cluster (the profile's `pins`); () for any. Not part "
            "of its key: where a job runs is the machine's fingerprint"
        },
    )

    @property
    def cell_id(self) -> str:
        """The measured cell, shared by its processes; readable and safe as a file name."""
        parts = [self.experiment, self.framework, self.device, self.workload, self.variant]
        digest = hashlib.sha256(json.dumps(self.params, sort_keys=True).encode()).hexdigest()[:6]
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)) + f"-{digest}"

    @property
    def job_id(self) -> str:
        return f"{self.cell_id}-p{self.process}"

    @property
    def variants(self) -> list[str]:
        return self.variant.split(",") if EXPERIMENTS[self.experiment].interleaved else [self.variant]

    @property
    def mode(self) -> str:
        modes = EXPERIMENTS[self.experiment].variants_of(self.framework)
        return ",".join(sorted({modes[v] for v in self.variants}))

    def notebook_parameters(self) -> dict:
        return {
            "framework": self.framework,
            "device": self.device,
            "workload": self.workload,
            "variant": self.variant,
            "threads": self.threads,
            "process": self.process,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class Profile:
    name: str = field(metadata={"help": "profile name, stored with the run"})
    description: str = field(metadata={"help": "what this profile is for"})
    source: dict = field(metadata={"help": "the profile as written, stored with the run"})
    jobs: tuple = field(metadata={"help": "the expanded jobs, in execution order"})
    seed: int = field(default=0, metadata={"help": "seed of the random job order within each process round"})
    machine_label: str = field(
        default="",
        metadata={
            "help": "the name the book gives this machine (default: built from its hardware, e.g. '2 vCPU AMD EPYC VM'; "
            "FWBENCH_MACHINE_LABEL overrides both)"
        },
    )
    budget_min: float | None = field(
        default=None,
        metadata={
            "help": "expected wall minutes of the whole run on a 2-core CPU machine; `plan`, `run` and `report` say at the "
            "start when this machine's estimate exceeds it (a warning: the run goes on), and no sequential round "
            "starts once the run has taken this long (the planned processes all run). None: no budget"
        },
    )


def _fail(where: str, message: str) -> typing.NoReturn:
    raise MatrixError(f"{where}: {message}")


def _shown(value) -> str:
    """A value as a message quotes it: a long one cut short, so the refusal stays one readable line."""
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's 4300-digit limit for str()
        return f"a {value.bit_length()}-bit integer"
    return text if len(text) <= 60 else text[:50] + "..."


def _within(where: str, value, bound: Bound, low=None) -> None:
    """Refuse a number outside `bound` (`low` raises its lower end), before anything is sized by it."""
    low = bound.low if low is None else low
    # Exact for any int: Python compares big ints with floats without converting them, so without overflow.
    if value > bound.high:
        _fail(where, f"expected at most {bound.high}, got {_shown(value)}: {bound.why}")
    if value < low:
        _fail(where, f"expected {low} to {bound.high}, got {_shown(value)}")


def _names(where: str, value, allowed: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        _fail(where, f"expected a non-empty list of names from: {', '.join(allowed)}")
    for v in value:
        if v not in allowed:
            _fail(where, f"unknown name {v!r}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(value))


def _type_ok(value, annotation) -> bool:
    if annotation in (float, "float"):  # NaN and infinity are not numbers a profile can mean
        # An int is finite however large: math.isfinite would overflow converting it to a float.
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value)
        )
    if annotation in (int, "int"):
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (str, "str"):
        return isinstance(value, str)
    if annotation in (bool, "bool"):
        return isinstance(value, bool)
    if annotation in ("tuple[int, ...]", "list[int]"):
        return isinstance(value, (list, tuple)) and all(_type_ok(v, int) for v in value)
    if annotation in ("tuple[str, ...]", "list[str]"):
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if annotation in ("tuple[float, ...]", "list[float]"):
        return isinstance(value, (list, tuple)) and all(_type_ok(v, float) for v in value)
    return True


def validate_params(where: str, params_cls: type, given) -> dict:
    """Check `given` against the experiment's parameter dataclass; return the full parameter dict."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        _fail(where, "params must be a mapping of name: value")
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    for name, value in given.items():
        if name not in fields:
            _fail(f"{where}.{name}", f"unknown parameter; allowed: {', '.join(fields)}")
        if not _type_ok(value, fields[name].type):
            wanted = "a finite number" if isinstance(value, float) and not math.isfinite(value) else fields[name].type
            _fail(f"{where}.{name}", f"expected {wanted}, got {type(value).__name__} {_shown(value)}")
        if isinstance(value, (list, tuple)) and len(value) > MAX_ITEMS:
            _fail(f"{where}.{name}", f"{len(value)} items, at most {MAX_ITEMS} allowed (each is measured in turn)")
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                _within(f"{where}.{name}", item, BOUNDS[fields[name].metadata.get("bounds", "count")])
    try:
        instance = params_cls(**given)
        if hasattr(instance, "timer"):
            instance.timer()  # the timer validates counts and budgets
    except (TypeError, ValueError) as exc:
        _fail(where, str(exc))
    # Plain JSON types only: papermill passes anything else (a tuple, say) to the notebook as its repr string.
    return json.loads(json.dumps(dataclasses.asdict(instance)))


def visible_gpu() -> bool:
    """Whether an NVIDIA GPU is visible, without loading any framework."""
    if not shutil.which("nvidia-smi"):
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _devices(where: str, value, gpu: bool | None = None) -> list[str]:
    names = _names(where, value, list(DEVICES))
    expanded = []
    for d in names:
        if d == "auto":
            expanded += ["cpu"] + (["cuda"] if (visible_gpu() if gpu is None else gpu) else [])
        else:
            expanded.append(d)
    return list(dict.fromkeys(expanded))


def _threads(where: str, value):
    if value == "auto":
        return value
    if not _type_ok(value, int):
        _fail(where, f"expected 'auto' or a positive integer, got {_shown(value)}")
    _within(where, value, BOUNDS["cpus"], low=1)
    return value


def _pins(where: str, value, blocks) -> dict[str, dict[str, tuple[str, ...]]]:
    """The profile's `pins`: {devices: {device: [class, ...]}, experiments: {block: [class, ...]}}, checked."""
    if value is None:
        return {"devices": {}, "experiments": {}}
    if not isinstance(value, dict):
        _fail(where, "expected a mapping with 'devices' and/or 'experiments', each naming hardware classes")
    out = {}
    for kind, allowed in (("devices", [d for d in DEVICES if d != "auto"]), ("experiments", list(blocks))):
        given = value.get(kind, {})
        if not isinstance(given, dict):
            _fail(f"{where}.{kind}", f"expected a mapping of {kind[:-1]} -> list of hardware classes")
        for name, classes in given.items():
            if name not in allowed:
                _fail(f"{where}.{kind}.{name}", f"unknown {kind[:-1]}; allowed: {', '.join(map(str, allowed))}")
            if isinstance(classes, str):
                classes = [classes]
            if (
                not isinstance(classes, list)
                or not classes
                or not all(isinstance(c, str) and CLASS_NAME.fullmatch(c) for c in classes)
            ):
                _fail(
                    f"{where}.{kind}.{name}",
                    f"expected a non-empty list of hardware classes (letters, digits, "
                    f"'_', '.', '-', at most 63, as Ray node labels are), got {_shown(classes)}",
                )
        out[kind] = {name: tuple(dict.fromkeys(classes)) for name, classes in given.items()}
    for key in value:
        if key not in out:
            _fail(f"{where}.{key}", "unknown key; allowed: devices, experiments")
    return out


def _classes(where: str, pins: dict, block: str, device: str) -> tuple[str, ...]:
    """The classes that may run a block's jobs on `device`: what both of its pins allow; () where none pins it."""
    sets = [set(pins["experiments"][block])] if block in pins["experiments"] else []
    sets += [set(pins["devices"][device])] if device in pins["devices"] else []
    if not sets:
        return ()
    both = set.intersection(*sets)
    if not both:
        _fail(where, f"{block} on {device}: its experiment's and its device's pins share no hardware class")
    return tuple(sorted(both))


def parse_profile(data, where: str = "profile", gpu: bool | None = None) -> Profile:
    """Validate a profile mapping and expand it into jobs. `gpu`: whether `devices: [auto]` finds a GPU (default:
    whether this machine shows one; a Ray run expands the profile once per hardware class, from its nodes' view)."""
    if not isinstance(data, dict):
        _fail(where, "a profile must be a mapping")
    for key in data:
        if key not in _PROFILE_KEYS:
            _fail(f"{where}.{key}", f"unknown key; allowed: {', '.join(sorted(_PROFILE_KEYS))}")
    description = data.get("description", "")
    if not isinstance(description, str):
        _fail(f"{where}.description", f"expected a string, got {type(description).__name__}")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        _fail(f"{where}.name", "expected a name of letters, digits, '_', '.' or '-'")
    threads = _threads(f"{where}.threads", data.get("threads", "auto"))
    timeout = data.get("timeout_s", 900)
    if not _type_ok(timeout, float) or timeout <= 0:
        _fail(f"{where}.timeout_s", f"expected a positive number of seconds, got {_shown(timeout)}")
    _within(f"{where}.timeout_s", timeout, BOUNDS["timeout"])
    seed = data.get("seed", 0)
    if not _type_ok(seed, int):
        _fail(f"{where}.seed", f"expected a non-negative integer, got {_shown(seed)}")
    _within(f"{where}.seed", seed, BOUNDS["seed"])
    machine_label = data.get("machine_label", "")
    if not isinstance(machine_label, str) or (
        machine_label and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.,:;+@()/-]{0,119}", machine_label)
    ):
        _fail(
            f"{where}.machine_label",
            "expected a plain name (letters, digits, spaces and _.,:;+@()/-, at most "
            f"120 characters), got {machine_label!r}",
        )
    budget = data.get("budget_min")
    if budget is not None:
        if not _type_ok(budget, float) or budget <= 0:
            _fail(f"{where}.budget_min", f"expected a positive number of minutes, got {_shown(budget)}")
        _within(f"{where}.budget_min", budget, BUDGET)
    experiments = data.get("experiments")
    if not isinstance(experiments, dict) or not experiments:
        _fail(f"{where}.experiments", f"expected a mapping with at least one of: {', '.join(EXPERIMENTS)}")

    pins = _pins(f"{where}.pins", data.get("pins"), experiments)
    jobs = []
    for key, spec in experiments.items():
        at = f"{where}.experiments.{key}"
        block = key  # (`key` names the block's own keys below)
        # "name@label" is one more block of the same experiment with its own workloads and parameters
        # (e.g. large models at a smaller batch); its cells differ by their parameter digest.
        exp_name, _, label = str(key).partition("@")
        if exp_name not in EXPERIMENTS or (_ and not re.fullmatch(r"[A-Za-z0-9_-]+", label)):
            _fail(at, f"unknown experiment; allowed: {', '.join(EXPERIMENTS)} (each optionally followed by @label)")
        if not isinstance(spec, dict):
            _fail(at, "expected a mapping")
        for key in spec:
            if key not in _EXPERIMENT_KEYS:
                _fail(f"{at}.{key}", f"unknown key; allowed: {', '.join(sorted(_EXPERIMENT_KEYS))}")
        fws = _names(f"{at}.frameworks", spec.get("frameworks", frameworks.names()), frameworks.names())
        devices = _devices(f"{at}.devices", spec.get("devices", ["cpu"]), gpu)
        experiment = EXPERIMENTS[exp_name]
        known_workloads = list(experiment.workloads) if experiment.workloads else sorted(WORKLOADS)
        workloads = _names(f"{at}.workloads", spec.get("workloads", known_workloads), known_workloads)
        params = validate_params(f"{at}.params", experiment.params, spec.get("params"))
        wanted_variants = spec.get("variants", "all")
        # A name selects that variant in every framework that has it; "framework:variant" in that framework only
        # (e.g. ONNX Runtime serving PyTorch's export but not TensorFlow's or JAX's).
        all_variants = sorted({v for fw in fws for v in experiment.variants_of(fw)})
        all_variants += sorted(f"{fw}:{v}" for fw in fws for v in experiment.variants_of(fw))
        if wanted_variants != "all":
            wanted_variants = _names(f"{at}.variants", wanted_variants, all_variants)
        processes = spec.get("processes", experiment.default_processes)
        if not _type_ok(processes, int):
            _fail(f"{at}.processes", f"expected a positive integer, got {_shown(processes)}")
        _within(f"{at}.processes", processes, BOUNDS["processes"], low=1)
        replacements = spec.get("replacement_processes", experiment.default_replacements)
        if not _type_ok(replacements, int):
            _fail(f"{at}.replacement_processes", f"expected a non-negative integer, got {_shown(replacements)}")
        _within(f"{at}.replacement_processes", replacements, BOUNDS["processes"])
        cap = spec.get("max_processes", processes)
        if not _type_ok(cap, int):
            _fail(f"{at}.max_processes", f"expected a positive integer, got {_shown(cap)}")
        _within(f"{at}.max_processes", cap, BOUNDS["processes"], low=processes)
        if cap > processes:
            if processes < 3:
                _fail(
                    f"{at}.processes",
                    f"a sequential design (max_processes {cap}) starts with at least 3 "
                    f"processes, the fewest whose interval can decide anything; got {processes}",
                )
            if not experiment.sequential:
                _fail(
                    f"{at}.max_processes",
                    f"{exp_name} has no sequential rule (an experiment opts in with "
                    f"`sequential=True` and a sequential.py): give processes only",
                )
            # The sequential rule adds processes while a comparison is open, which is what replacements did.
            replacements = 0
        cells = [
            (fw, device, workload, variant)
            for fw in fws
            for device in devices
            for workload in workloads
            for variant in experiment.variants_of(fw)
            if (wanted_variants == "all" or variant in wanted_variants or f"{fw}:{variant}" in wanted_variants)
            and device in frameworks.device_variants(fw).get(variant, [device])
            and _family(workload) in frameworks.family_variants(fw).get(variant, [_family(workload)])
        ]
        if experiment.interleaved:
            # One process measures all of a framework's variants of a cell, taking turns block by block.
            grouped: dict[tuple, list[str]] = {}
            for fw, device, workload, variant in cells:
                grouped.setdefault((fw, device, workload), []).append(variant)
            cells = [(*key, ",".join(vs)) for key, vs in grouped.items()]
        if len(jobs) + max(processes, cap) * len(cells) > MAX_JOBS:
            _fail(
                at,
                f"the profile expands to {len(jobs) + max(processes, cap) * len(cells)} jobs by this block, at "
                f"most {MAX_JOBS} allowed (each is a fresh kernel: days of machine time)",
            )
        # All cells' first processes, then all second ones, each round in a seeded random order: a cell's
        # processes are spread over the run and alternatives take turns, so drift of the machine hits
        # them alike and shows as between-process noise rather than as a difference.
        for process in range(processes):
            order = random.Random(f"{seed}|{key}|{process}").sample(cells, len(cells))
            for fw, device, workload, variant in order:
                jobs.append(
                    Job(
                        exp_name,
                        fw,
                        device,
                        workload,
                        variant,
                        params,
                        threads,
                        float(timeout),
                        process,
                        replacements,
                        cap if cap > processes else 0,
                        _classes(f"{where}.pins", pins, block, device),
                    )
                )
    if not jobs:
        _fail(where, "expands to no jobs")
    return Profile(
        name=name,
        description=description,
        source=data,
        jobs=tuple(jobs),
        seed=seed,
        machine_label=machine_label,
        budget_min=budget,
    )


def _family(workload: str) -> str | None:
    """The model family of a workload of the workload registry (None for other experiments' cases)."""
    spec = WORKLOADS.get(workload)
    return spec.family if spec is not None else None


def resolve_profile_path(name_or_path: str) -> Path:
    """A profile given by path, or by name under profiles/."""
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml") or path.exists():
        return path
    return PROFILE_DIR / f"{name_or_path}.yml"


def load_profile(name_or_path: str) -> Profile:
    path = resolve_profile_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.yml")))
        raise MatrixError(f"profile {name_or_path!r} not found; known profiles: {known}")
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PROFILE_BYTES + 1)  # no more: a huge file is refused, not read
        if len(raw) > MAX_PROFILE_BYTES:
            raise MatrixError(f"{path}: larger than {MAX_PROFILE_BYTES // 1024} KiB, too large for a profile")
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MatrixError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise MatrixError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)
    except _Refused as exc:
        raise MatrixError(f"{path}: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an integer past Python's 4300-digit limit, a bad date
        raise MatrixError(f"{path}: not valid YAML ({str(exc).splitlines()[0].split(';')[0]})") from None
    except (RecursionError, MemoryError):  # the depth and size caps should stop both first
        raise MatrixError(f"{path}: too deeply nested or too large to parse") from None
    return parse_profile(data, where=path.name)


class _Refused(yaml.YAMLError):
    """YAML that parses, but that no profile may be."""


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases, nested at most MAX_DEPTH deep, and without a key twice in one mapping: a
    profile never needs either, nested aliases expand exponentially (a few hundred bytes can ask for gigabytes), the
    composer recurses per level, and PyYAML would keep the last of two equal keys without a word."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"aliases (*{event.anchor}) are not allowed in a profile, line {event.start_mark.line + 1}")
        if self.depth >= MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels, line {self.peek_event().start_mark.line + 1}")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<`: merged keys may be overridden, by design
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _Refused(
                            f"duplicate key {_shown(key)} on line {line} (first on line {seen[key]}): YAML "
                            f"would keep only the last"
                        )
                    seen[key] = line
                except TypeError:  # an unhashable key: the constructor below refuses it in its own words
                    continue
        return super().construct_mapping(node, deep)
