"""Profiles expand into the right jobs; every kind of bad input is one clear line and exit code 2."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fwbench import exporters, frameworks
from fwbench.errors import MatrixError
from fwbench.experiments.debugging import hooks as debug_hooks
from fwbench.experiments.serving import hooks as serving_hooks
from fwbench.matrix.profile import load_profile, parse_profile

REPO = Path(__file__).resolve().parents[2]


def profile(**experiment):
    spec = {"frameworks": ["torch", "tensorflow", "jax"], "devices": ["cpu"], "workloads": ["mlp"], "processes": 1}
    spec.update(experiment)
    return {"name": "t", "experiments": {"eager_vs_graph": spec}}


def test_shipped_profiles_parse():
    for path in sorted((REPO / "profiles").glob("*.yml")):
        p = load_profile(str(path))
        assert p.jobs, path


def _on(device, family="mlp"):
    return {
        (f, v)
        for f in ("torch", "tensorflow", "jax")
        for v in frameworks.variants(f)
        if device in frameworks.device_variants(f).get(v, [device])
        and family in frameworks.family_variants(f).get(v, [family])
    }


def test_expansion_covers_every_framework_variant_one_process_per_framework():
    p = parse_profile(profile())
    assert len(p.jobs) == 3  # one interleaved job per framework and workload
    assert {(j.framework, v) for j in p.jobs for v in j.variants} == _on("cpu")
    assert len({j.job_id for j in p.jobs}) == len(p.jobs)
    assert {j.mode for j in p.jobs} == {"eager,graph"}
    assert all(j.params["batch_size"] == 64 for j in p.jobs)  # the experiment's default
    # Parameters travel through papermill: only JSON types survive as themselves.
    assert isinstance(p.jobs[0].params["infer_batch_sizes"], list)


def test_family_only_variants_expand_only_for_their_workload_family():
    """The unrolled RNN loops are variants of the rnn only; an mlp has no loop to unroll."""
    p = parse_profile(profile(workloads=["mlp", "rnn"]))
    by_workload = {w: {(j.framework, v) for j in p.jobs if j.workload == w for v in j.variants} for w in ("mlp", "rnn")}
    assert by_workload["mlp"] == _on("cpu", "mlp")
    assert by_workload["rnn"] == _on("cpu", "rnn")
    assert {("tensorflow", "tf.function-unrolled"), ("jax", "jax.jit-unrolled")} <= by_workload["rnn"] - by_workload[
        "mlp"
    ]


def test_a_labelled_block_adds_cells_of_the_same_experiment_with_their_own_params():
    data = profile()
    data["experiments"]["eager_vs_graph@large"] = {
        "frameworks": ["torch"],
        "devices": ["cpu"],
        "workloads": ["resnet18"],
        "processes": 2,
        "params": {"batch_size": 8},
    }
    p = parse_profile(data)
    large = [j for j in p.jobs if j.workload == "resnet18"]
    assert len(large) == 2 and all(j.experiment == "eager_vs_graph" and j.params["batch_size"] == 8 for j in large)
    assert len({j.job_id for j in p.jobs}) == len(p.jobs)
    for bad in ("eager_vs_graph@", "eager_vs_graph@a b", "nosuch@large"):
        data = profile()
        data["experiments"][bad] = {"workloads": ["mlp"]}
        with pytest.raises(MatrixError, match="unknown experiment"):
            parse_profile(data)


def test_device_only_variants_expand_only_on_their_device():
    assert ("torch", "torch.compile-reduce-overhead") not in _on("cpu")
    cuda = parse_profile(profile(devices=["cuda"], frameworks=["torch"]))
    assert [j.variants for j in cuda.jobs] == [
        ["eager", "torch.compile", "torch.compile-forward", "torch.compile-reduce-overhead"]
    ]
    both = parse_profile(profile(devices=["cpu", "cuda"], frameworks=["torch"]))
    assert sorted((j.device, j.variant) for j in both.jobs) == [
        ("cpu", "eager,torch.compile,torch.compile-forward"),
        ("cuda", "eager,torch.compile,torch.compile-forward,torch.compile-reduce-overhead"),
    ]


def test_processes_share_a_cell_and_rounds_come_in_a_seeded_random_order():
    p = parse_profile(profile(processes=2, frameworks=["jax"]))
    assert [(j.variant, j.process) for j in p.jobs] == [("eager,jax.jit", 0), ("eager,jax.jit", 1)]
    assert p.jobs[0].cell_id == p.jobs[1].cell_id and p.jobs[0].job_id != p.jobs[1].job_id
    assert parse_profile(profile(processes=2)).jobs[0].notebook_parameters()["process"] == 0
    # Replacement processes: the experiment's default unless the profile says; never a notebook parameter.
    assert {j.replacements for j in p.jobs} == {2}
    assert {j.replacements for j in parse_profile(profile(replacement_processes=0)).jobs} == {0}
    assert "replacements" not in p.jobs[0].notebook_parameters()
    many = dict(profile(processes=4, workloads=["mlp", "rnn"]))
    orders = [
        [(j.framework, j.workload) for j in parse_profile({**many, "seed": seed}).jobs if j.process == 1]
        for seed in (0, 0, 1)
    ]
    assert orders[0] == orders[1] != orders[2]  # the seed decides the order, and the order is reproducible
    jobs = parse_profile(many).jobs
    assert [j.process for j in jobs] == sorted(j.process for j in jobs)  # all first processes, then all second ...


def test_variant_filter_and_params():
    p = parse_profile(profile(variants=["eager"], params={"batch_size": 8, "max_time_s": 1}))
    assert [j.variant for j in p.jobs] == ["eager"] * 3
    assert p.jobs[0].params["batch_size"] == 8 and p.jobs[0].params["max_time_s"] == 1


def test_a_framework_qualified_variant_selects_it_in_that_framework_only():
    """ "onnxruntime" serves every framework's ONNX file; "torch:onnxruntime" PyTorch's alone."""
    spec = {"frameworks": ["torch", "tensorflow", "jax"], "processes": 1}
    every = parse_profile({"name": "x", "experiments": {"serving": {**spec, "variants": ["onnxruntime"]}}})
    assert {(j.framework, j.variant) for j in every.jobs} == {
        (f, "onnxruntime") for f in ("torch", "tensorflow", "jax")
    }
    one = parse_profile(
        {"name": "x", "experiments": {"serving": {**spec, "variants": ["torch:onnxruntime", "jax.jit"]}}}
    )
    assert {(j.framework, j.variant) for j in one.jobs} == {("torch", "onnxruntime"), ("jax", "jax.jit")}


@pytest.mark.parametrize(
    "data, named",
    [
        (profile(frameworks=["mxnet"]), "mxnet"),
        (profile(variants=["jax:torch.compile"]), "jax:torch.compile"),
        (profile(devices=["tpu"]), "tpu"),
        (profile(workloads=["resnet9000"]), "resnet9000"),
        (profile(variants=["xla-magic"]), "xla-magic"),
        (profile(params={"batchsize": 3}), "batchsize"),
        (profile(params={"batch_size": "64"}), "batch_size"),
        (profile(params={"min_samples": 2.5}), "min_samples"),
        (profile(params={"batch_size": True}), "batch_size"),
        (profile(params={"min_blocks": 50, "max_blocks": 10}), "min_blocks"),
        (profile(params={"loss_rtol": -1}), "loss_rtol"),
        (profile(params={"peak_matmul_n": -1}), "peak_matmul_n"),
        ({"name": "t", "seed": -3, "experiments": {"eager_vs_graph": {}}}, "seed"),
        ({"name": "t", "machine_label": "<b>lab</b>", "experiments": {"eager_vs_graph": {}}}, "machine_label"),
        ({"name": "t", "machine_label": ["lab"], "experiments": {"eager_vs_graph": {}}}, "machine_label"),
        (profile(colour="blue"), "colour"),
        (profile(processes=0), "processes"),
        (profile(replacement_processes=-1), "replacement_processes"),
        (profile(replacement_processes="2"), "replacement_processes"),
        (profile(params={"infer_batch_sizes": [1, "big"]}), "infer_batch_sizes"),
        (profile(params={"warmup_min": 1, "loss_steps": 5}), "warmup_min"),
        ({"name": "t", "experiments": {"debug_everything": {}}}, "debug_everything"),
        ({"name": "t", "threads": 0, "experiments": {"eager_vs_graph": {}}}, "threads"),
        ({"name": "t", "timeout_s": "soon", "experiments": {"eager_vs_graph": {}}}, "timeout_s"),
        ({"experiments": {"eager_vs_graph": {}}}, "name"),
        ([1, 2], "mapping"),
        ({"name": "t", "budget_min": 0, "experiments": {"eager_vs_graph": {}}}, "budget_min"),
        ({"name": "t", "budget_min": "ten", "experiments": {"eager_vs_graph": {}}}, "budget_min"),
        ({"name": "t", "budget_min": True, "experiments": {"eager_vs_graph": {}}}, "budget_min"),
        ({"name": "t", "budget_min": float("inf"), "experiments": {"eager_vs_graph": {}}}, "budget_min"),
        ({"name": "t", "budget_min": 600 * 60, "experiments": {"eager_vs_graph": {}}}, "budget_min"),  # seconds
    ],
)
def test_bad_input_names_the_problem(data, named):
    with pytest.raises(MatrixError) as exc:
        parse_profile(data)
    message = str(exc.value)
    assert named in message and "\n" not in message


def test_a_profile_may_give_a_budget_in_minutes():
    assert parse_profile({"name": "t", "budget_min": 7.5, "experiments": {"eager_vs_graph": {}}}).budget_min == 7.5
    assert parse_profile({"name": "t", "experiments": {"eager_vs_graph": {}}}).budget_min is None
    assert load_profile("quick").budget_min is not None  # the first look says when it will take longer


def test_a_profile_may_name_its_machine():
    assert (
        parse_profile(
            {"name": "t", "machine_label": "lab box 3 (A100)", "experiments": {"eager_vs_graph": {}}}
        ).machine_label
        == "lab box 3 (A100)"
    )


def run_cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "fwbench", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(
    "text, named",
    [
        ("name: bad\nexperiments:\n  eager_vs_graph:\n    frameworks: [mxnet]\n", "mxnet"),
        ("name: bad\nexperiments: [\n", "YAML"),
        # A billion laughs: nested aliases would expand to gigabytes; anchors and aliases are refused outright.
        (
            "name: bad\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "description: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nexperiments: {eager_vs_graph: {}}\n",
            "aliases",
        ),
        ("name: bad\ntimeout_s: .nan\nexperiments: {eager_vs_graph: {}}\n", "bad.yml.timeout_s"),
        ("name: bad\ndescription: [a, list]\nexperiments: {eager_vs_graph: {}}\n", "bad.yml.description"),
        ("name: bad\nexperiments: {eager_vs_graph: {params: {max_time_s: .inf}}}\n", "max_time_s"),
        (b"\xff\xfe\x00binary garbage\x00", "not UTF-8"),
        # PyYAML keeps the last of two equal keys without a word: a profile names both lines instead.
        (
            "name: bad\ndescription: one\ndescription: two\nexperiments: {eager_vs_graph: {}}\n",
            "duplicate key 'description' on line 3 (first on line 2)",
        ),
        (
            "name: bad\nexperiments:\n  eager_vs_graph:\n    processes: 2\n    params: {batch_size: 8}\n"
            "    processes: 3\n",
            "duplicate key 'processes' on line 6 (first on line 4)",
        ),
        (
            "name: bad\nexperiments: {eager_vs_graph: {params: {batch_size: 8, batch_size: 16}}}\n",
            "duplicate key 'batch_size' on line 2 (first on line 2)",
        ),
    ],
)
def test_cli_rejects_bad_profile_before_writing_anything(tmp_path, text, named):
    bad = tmp_path / "bad.yml"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    store = tmp_path / "store"
    proc = run_cli("--store", str(store), "run", "--profile", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and lines[0].startswith("fwbench: error:")
    assert not store.exists()


def test_cli_unknown_profile_lists_known(tmp_path):
    proc = run_cli("--store", str(tmp_path / "s"), "run", "--profile", "nonesuch")
    assert proc.returncode == 2 and "quick" in proc.stderr


def test_yaml_round_trip_of_shipped_quick_profile():
    data = yaml.safe_load((REPO / "profiles" / "quick.yml").read_text())
    assert parse_profile(data).name == "quick"


def debugging_profile(**spec):
    return {"name": "d", "experiments": {"debugging": {"frameworks": ["torch", "tensorflow", "jax"], **spec}}}


def test_debugging_expands_one_job_per_framework_and_tool():
    p = parse_profile(debugging_profile())
    assert {(j.framework, j.variant) for j in p.jobs} == {
        (f, t) for f in ("torch", "tensorflow", "jax") for t in debug_hooks.tools(f)
    }
    assert all(j.workload == "bugs" and j.process == 0 and j.device == "cpu" for j in p.jobs)
    assert all(isinstance(j.params["bugs"], list) for j in p.jobs)
    some = parse_profile(debugging_profile(variants=["none", "debug_nans"]))
    assert sorted((j.framework, j.variant) for j in some.jobs) == [
        ("jax", "debug_nans"),
        ("jax", "none"),
        ("tensorflow", "none"),
        ("torch", "none"),
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"variants": ["pdb"]}, "unknown name 'pdb'"),
        ({"workloads": ["mlp"]}, "unknown name 'mlp'; allowed: bugs"),
        ({"params": {"bugs": ["shape", "typo"]}}, "unknown: ['typo']"),
        ({"params": {"bugs": "shape"}}, "expected tuple[str, ...]"),
    ],
)
def test_debugging_bad_input(spec, message):
    with pytest.raises(MatrixError, match=re.escape(message)):
        parse_profile(debugging_profile(**spec))


def test_serving_expands_one_job_per_framework_and_serving_variant():
    p = parse_profile({"name": "x", "experiments": {"serving": {"frameworks": ["torch", "tensorflow", "jax"]}}})
    assert {(j.framework, j.variant) for j in p.jobs} == {
        (f, v) for f in ("torch", "tensorflow", "jax") for v in serving_hooks.variants(f)
    }
    assert {j.mode for j in p.jobs if j.variant == "tf-serving"} == {"tfserving:savedmodel"}
    with pytest.raises(MatrixError, match=re.escape("unknown formats ['xml']")):
        parse_profile({"name": "x", "experiments": {"serving": {"params": {"formats": ["xml"]}}}})


def export_profile(**spec):
    return {"name": "x", "experiments": {"export": {"frameworks": ["torch", "tensorflow", "jax"], **spec}}}


def test_export_expands_one_job_per_framework_and_path():
    p = parse_profile(export_profile())
    assert {(j.framework, j.variant) for j in p.jobs} == {
        (f, path) for f in ("torch", "tensorflow", "jax") for path in exporters.paths(f)
    }
    assert all(j.workload == "models" and j.process == 0 for j in p.jobs)
    assert {j.mode for j in p.jobs if j.variant == "keras3"} == {"keras:torch", "keras:tensorflow", "keras:jax"}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"variants": ["onnx"]}, "unknown name 'onnx'"),
        ({"params": {"workloads": ["mlp", "vgg"]}}, "unknown workloads ['vgg']"),
        ({"params": {"latency_batches": [1, -4]}}, "latency_batches: expected 1 to 4096, got -4"),
        ({"params": {"rtol": "tight"}}, "expected float"),
    ],
)
def test_export_bad_input(spec, message):
    with pytest.raises(MatrixError, match=re.escape(message)):
        parse_profile(export_profile(**spec))
