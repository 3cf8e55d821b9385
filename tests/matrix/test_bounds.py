"""Every count and duration a profile may set is bounded, and so is the profile itself: a value past its bound, a
huge or deeply nested file, or a profile that expands to too many jobs is one line naming the problem, exit 2."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fwbench.errors import MatrixError
from fwbench.experiments import EXPERIMENTS
from fwbench.experiments.base import BOUNDS, MAX_ITEMS
from fwbench.matrix import profile as profile_module
from fwbench.matrix.profile import MAX_DEPTH, MAX_JOBS, MAX_PROFILE_BYTES, load_profile, parse_profile, validate_params

REPO = Path(__file__).resolve().parents[2]
NUMERIC = {"int", "float", "tuple[int, ...]", "tuple[float, ...]"}
EVG = "name: bad\nexperiments:\n  eager_vs_graph:\n    frameworks: [torch]\n    devices: [cpu]\n    workloads: [mlp]\n"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fwbench", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def _jobs_profile(blocks: int) -> str:
    return "name: bad\nexperiments:\n" + "".join(
        f"  eager_vs_graph@b{i}:\n    devices: [cpu]\n    workloads: [mlp]\n    processes: 100\n" for i in range(blocks)
    )


#: The probes of issue 36, each a profile's text and what its one-line refusal names.
PROBES = {
    "a million processes": (EVG + "    processes: 1000000\n", "processes: expected at most 100, got 1000000"),
    "a 400-digit timeout": (
        "name: bad\ntimeout_s: " + "9" * 400 + "\nexperiments: {eager_vs_graph: {}}\n",
        "timeout_s: expected at most 86400",
    ),
    "a 5000-digit timeout": (
        "name: bad\ntimeout_s: " + "9" * 5000 + "\nexperiments: {eager_vs_graph: {}}\n",
        "not valid YAML (Exceeds the limit (4300 digits)",
    ),
    "a 400-digit batch": (EVG + "    params: {batch_size: " + "9" * 400 + "}\n", "batch_size: expected at most 4096"),
    "a 400-digit float budget": (
        EVG + "    params: {max_time_s: " + "9" * 400 + "}\n",
        "max_time_s: expected at most 3600",
    ),
    "a huge thread count": ("name: bad\nthreads: 100000\nexperiments: {eager_vs_graph: {}}\n", "threads"),
    "a huge seed": ("name: bad\nseed: 4294967296\nexperiments: {eager_vs_graph: {}}\n", "seed: expected at most"),
    "an infinite budget": (EVG + "    params: {busy_cpus: .inf}\n", "busy_cpus: expected a finite number"),
    "a long list": (EVG + "    params: {infer_batch_sizes: [" + ", ".join(["1"] * 100) + "]}\n", "100 items"),
    "100 000 nested [": (
        "name: bad\ndescription: " + "[" * 100_000 + "\nexperiments: {eager_vs_graph: {}}\n",
        "too large for a profile",
    ),
    "30 000 nested [": (
        "name: bad\ndescription: " + "[" * 30_000 + "\nexperiments: {eager_vs_graph: {}}\n",
        f"nested deeper than {MAX_DEPTH} levels, line 2",
    ),
    "deep block nesting": (
        "name: bad\nd:\n" + "".join(" " * (i + 1) + "k:\n" for i in range(200)) + "experiments: {eager_vs_graph: {}}\n",
        "nested deeper than",
    ),
    "a huge file": (
        "name: bad\n" + "#" * (2 * MAX_PROFILE_BYTES) + "\nexperiments: {eager_vs_graph: {}}\n",
        "too large for a profile",
    ),
    "too many jobs": (_jobs_profile(40), f"at most {MAX_JOBS} allowed"),
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_a_probe_is_one_line_and_exit_2(tmp_path, probe):
    text, named = PROBES[probe]
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    with pytest.raises(MatrixError) as exc:
        load_profile(str(bad))
    assert named in str(exc.value) and "\n" not in str(exc.value)
    proc = run_cli("--store", str(tmp_path / "store"), "plan", "--profile", str(bad))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fwbench: error:") and named in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout
    assert len(lines[0]) < 400  # a 400-digit number is quoted cut short


def test_a_recursion_error_from_the_parser_is_one_line_too(tmp_path, monkeypatch):
    """Belt and braces: were the depth cap lifted, the YAML composer's RecursionError is still one line."""
    monkeypatch.setattr(profile_module, "MAX_DEPTH", 10**9)
    bad = tmp_path / "deep.yml"
    bad.write_text("name: bad\ndescription: " + "[" * 30_000 + "\n")
    with pytest.raises(MatrixError, match="too deeply nested or too large to parse"):
        load_profile(str(bad))


def test_the_job_cap_is_checked_before_the_jobs_are_made(monkeypatch):
    made = []
    monkeypatch.setattr(profile_module, "MAX_JOBS", 50)
    monkeypatch.setattr(profile_module, "Job", lambda *args: made.append(args))
    three_cells = _jobs_profile(1).replace("[cpu]", "[cpu]\n    frameworks: [torch, tensorflow, jax]")
    with pytest.raises(MatrixError, match="expands to 300 jobs by this block, at most 50 allowed"):
        parse_profile(yaml.safe_load(three_cells))
    assert made == []


def profile(**spec):
    return {
        "name": "t",
        "experiments": {
            "eager_vs_graph": {"frameworks": ["jax"], "devices": ["cpu"], "workloads": ["mlp"], "processes": 1, **spec}
        },
    }


def block(experiment, **params):
    return {"name": "t", "experiments": {experiment: {"frameworks": ["jax"], "params": params}}}


@pytest.mark.parametrize(
    "data, named",
    [
        (profile(processes=101), "processes: expected at most 100"),
        (profile(processes=-1), "processes: expected 1 to 100, got -1"),
        (profile(replacement_processes=101), "replacement_processes: expected at most 100"),
        ({"name": "t", "timeout_s": 0, "experiments": {"eager_vs_graph": {}}}, "timeout_s"),
        ({"name": "t", "timeout_s": 86401, "experiments": {"eager_vs_graph": {}}}, "timeout_s: expected at most 86400"),
        ({"name": "t", "seed": 10**5000, "experiments": {"eager_vs_graph": {}}}, "got a 16610-bit integer"),
        ({"name": "t", "threads": 10**400, "experiments": {"eager_vs_graph": {}}}, "threads: expected at most 4096"),
        (profile(params={"batch_size": 4097}), "batch_size: expected at most 4096"),
        (profile(params={"infer_batch_sizes": [1, 10**400]}), "infer_batch_sizes: expected at most 4096"),
        (profile(params={"infer_batch_sizes": [0]}), "infer_batch_sizes: expected 1 to 4096, got 0"),
        (profile(params={"min_samples": 10**6 + 1}), "min_samples: expected at most 1000000"),
        (profile(params={"max_time_s": 3601.0}), "max_time_s: expected at most 3600"),
        (profile(params={"max_time_s": -1.0}), "max_time_s: expected 0 to 3600"),
        (profile(params={"peak_matmul_n": 65536}), "peak_matmul_n: expected at most 32768"),
        (profile(params={"seed": -1}), "seed: expected 0 to 4294967295, got -1"),
        (profile(params={"shape_probe_processes": 1000}), "shape_probe_processes: expected at most 100"),
        (profile(params={"loss_rtol": float("nan")}), "loss_rtol: expected a finite number"),
        (profile(params={"busy_cpus": 10**400}), "busy_cpus: expected at most 4096"),
        (block("export", repeats=10**7), "repeats: expected at most 1000000"),
        (block("export", train_batch=0), "train_batch: expected 1 to 4096, got 0"),
        (block("export", child_timeout_s=0), "child_timeout_s must be a positive number"),
        (block("export", latency_processes=0), "latency_processes"),
        (block("export", rtol=2.0), "rtol: expected at most 1"),
        (block("debugging", overhead_batch_size=0), "overhead_batch_size: expected 1 to 4096, got 0"),
        (block("debugging", cost_processes=10**6), "cost_processes: expected at most 100"),
        (block("debugging", case_timeout_s=10**400), "case_timeout_s: expected at most 86400"),
        (block("serving", concurrency=[1, 100_000]), "concurrency: expected at most 1000"),
        (block("serving", warmup_s=-1), "warmup_s: expected 0 to 3600, got -1"),
        (block("serving", max_requests=10**9), "max_requests: expected at most 1000000"),
        (block("serving", max_wait_ms=10**5), "max_wait_ms: expected at most 10000"),
        (block("serving", open_loop_fractions=[float("inf")]), "open_loop_fractions"),
    ],
)
def test_a_number_past_its_bound_is_refused_in_one_line(data, named):
    with pytest.raises(MatrixError) as exc:
        parse_profile(data)
    assert named in str(exc.value) and "\n" not in str(exc.value)


def test_the_bounds_themselves_are_allowed():
    p = parse_profile(
        {
            **profile(processes=100, replacement_processes=100, params={"batch_size": 4096}),
            "timeout_s": 86400,
            "seed": 2**32 - 1,
            "threads": 4096,
        }
    )
    assert len(p.jobs) == 100 and p.jobs[0].timeout_s == 86400.0


def test_every_numeric_parameter_names_a_known_kind_of_bound_and_its_default_is_within_it():
    for name, experiment in EXPERIMENTS.items():
        for f in dataclasses.fields(experiment.params):
            if str(f.type) not in NUMERIC:
                continue
            assert f.metadata.get("bounds") in BOUNDS, f"{name}.{f.name} declares no kind of bound (BOUNDS)"
            bound = BOUNDS[f.metadata["bounds"]]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert all(bound.low <= v <= bound.high for v in (default if isinstance(default, tuple) else [default])), (
                f"{name}.{f.name}"
            )


def test_a_parameter_without_a_kind_is_a_count():
    @dataclasses.dataclass(frozen=True)
    class Params:
        n: int = dataclasses.field(default=4, metadata={"help": "how many numbers to add"})

    assert validate_params("p", Params, {"n": 10**6}) == {"n": 10**6}
    with pytest.raises(MatrixError, match=r"p\.n: expected at most 1000000, got 1000001"):
        validate_params("p", Params, {"n": 10**6 + 1})
    with pytest.raises(MatrixError, match=r"p\.n: expected 0 to 1000000, got -1"):
        validate_params("p", Params, {"n": -1})


def _numbers(given: dict, params_cls) -> list[tuple[str, float, str]]:
    kinds = {f.name: f.metadata.get("bounds", "count") for f in dataclasses.fields(params_cls)}
    return [
        (name, v, kinds[name])
        for name, value in given.items()
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.yml")), ids=lambda p: p.stem)
def test_committed_profiles_stay_at_half_their_bounds_or_less(path):
    """Room to spare: a profile that grows toward a bound is noticed here, long before it is refused."""
    assert path.stat().st_size <= MAX_PROFILE_BYTES / 4
    data = yaml.safe_load(path.read_text())
    assert len(load_profile(str(path)).jobs) <= MAX_JOBS / 10
    top = [("timeout_s", data.get("timeout_s", 900), "timeout"), ("seed", data.get("seed", 0), "seed")]
    if data.get("threads", "auto") != "auto":
        top.append(("threads", data["threads"], "cpus"))
    for key, spec in data["experiments"].items():
        params_cls = EXPERIMENTS[key.partition("@")[0]].params
        numbers = top + [(p, spec[p], "processes") for p in ("processes", "replacement_processes") if p in spec]
        numbers += _numbers(spec.get("params") or {}, params_cls)
        for name, value, kind in numbers:
            assert value <= BOUNDS[kind].high / 2, f"{path.name}: {key}.{name} = {value} is near its bound"
        for name, value in (spec.get("params") or {}).items():
            assert not isinstance(value, list) or len(value) <= MAX_ITEMS / 2, f"{path.name}: {key}.{name}"
