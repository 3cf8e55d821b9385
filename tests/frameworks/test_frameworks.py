"""Every adapter builds the same model, computes the same loss, learns alike, and synchronizes (real frameworks).

For each (framework, variant, workload) one model is built from the shared
spec; its fresh inference output, the losses of N_STEPS + 1 training steps on
one batch, and its inference output after training are computed once (a
module-scoped cache) and checked against the float64 NumPy reference, a
float64 run of the same training and the other frameworks.
"""

import dataclasses
import random
import time

import numpy as np
import pytest

from fwbench import frameworks
from fwbench.errors import DeviceUnavailable
from fwbench.workloads import get_workload
from tiers import EXTENDED, tiered

NAMES = frameworks.names()
# Variants that exist only on an accelerator (CUDA graphs) cannot run on this CPU machine.
CASES = [
    (f, v) for f in NAMES for v in frameworks.variants(f) if "cpu" in frameworks.device_variants(f).get(v, ["cpu"])
]
WORKLOADS = ["mlp", "cnn", "transformer", "rnn"]
#: Small copies of the stacked and causal forms behind resnet18 and gpt2_small, cheap enough to compile in tests.
STACKED = {
    "cnn_stages": dataclasses.replace(
        get_workload("cnn"), name="cnn_stages", image_size=8, channels=(4, 8), blocks_per_stage=2
    ),
    "causal_stack": dataclasses.replace(
        get_workload("transformer"),
        name="causal_stack",
        seq_len=6,
        d_model=8,
        n_heads=2,
        d_mlp=16,
        n_layers=2,
        causal=True,
    ),
}


#: Workloads whose every variant `make test` checks: the dense and the recurrent families. The conv and attention
#: ones (and their stacked forms) run in the full tier (tests/tiers.py): torch.compile's cold compiles of them took
#: 40-90 s each under `make test` on the 2-vCPU AMD VM, about 7 minutes together; CI starts with no compiler cache.
IN_CI = ("mlp", "rnn")


def _spec(workload):
    return STACKED.get(workload) or get_workload(workload)


def _cases(workload):
    """(framework, variant) pairs that exist for `workload` on this CPU (unrolled RNN variants only for the rnn)."""
    family = _spec(workload).family
    return [(workload, f, v) for f, v in CASES if family in frameworks.family_variants(f).get(v, [family])]


BATCH = 8
N_STEPS = 5
#: First training step's loss vs the float64 NumPy reference (measured: <= 2e-7).
FIRST_STEP_RTOL = 1e-4
#: Max |difference| of a fresh model's inference logits from the float64 reference (measured: <= 2e-6;
#: logits are O(1) here, so this is also roughly a relative bound).
INFER_ATOL = 1e-4
#: Inference logits after N_STEPS updates vs the float64 run, relative to the largest logit. Loose on purpose:
#: after training, the cnn's inference-mode logits amplify float32 noise in the batch-norm weights' gradients,
#: which the training-mode loss does not see (measured: 5e-4 for cnn, <= 1e-6 for the others); this check is
#: for gross errors, such as inference reading stale weights or running statistics.
TRAINED_LOGITS_RTOL = 1e-2
#: Batch-norm running statistics after N_STEPS updates vs the float64 run (measured: <= 2.3e-5 abs for means,
#: <= 7.5e-6 relative for variances). A biased instead of unbiased variance in the update would be off by
#: 2e-4 to 9e-4 in the deeper layers.
BN_MEAN_ATOL, BN_VAR_RTOL = 1e-4, 1e-4


def _bn_statistics(framework, model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Test-only peek into each adapter's model: batch-norm prefix -> (running mean, running variance)."""
    if framework == "torch":
        module = model["module"]
        return {
            p: tuple(getattr(module, p.replace("/", "__") + s).numpy().astype(np.float64) for s in ("__mean", "__var"))
            for p in module.spec.bn_names()
        }
    if framework == "tensorflow":
        return {
            p: (m.numpy().astype(np.float64), v.numpy().astype(np.float64))
            for p, (m, v) in model["module"].stats.items()
        }
    return {p: (np.asarray(m, np.float64), np.asarray(v, np.float64)) for p, (m, v) in model["stats"].items()}


def _run(framework, variant, spec):
    """Fresh inference logits, N_STEPS + 1 training losses on batch 0, and inference logits after training."""
    adapter = frameworks.get_adapter(framework)
    if framework == "torch":
        import torch

        # As in a fresh process: otherwise dynamo, seeing the same step function again with other shapes,
        # would recompile it for dynamic shapes.
        torch._dynamo.reset()
    x, y = spec.batch(BATCH)
    x_other, _ = spec.batch(BATCH, index=1)
    model = adapter.build(spec, "cpu")
    xd, yd, xd_other = (adapter.to_device(a, "cpu") for a in (x, y, x_other))
    infer = adapter.infer_step(model, variant)
    fresh = adapter.to_numpy(infer(xd)).astype(np.float64)
    step = adapter.train_step(model, variant)
    losses = []
    for _ in range(N_STEPS + 1):
        out = step(xd, yd)
        adapter.sync(out)
        losses.append(adapter.loss_of(out))
    trained = adapter.to_numpy(infer(xd_other)).astype(np.float64)  # uses updated batch-norm running statistics
    return {
        "fresh": fresh,
        "losses": np.array(losses),
        "trained": trained,
        "bn_statistics": _bn_statistics(framework, model),
    }


@pytest.fixture(scope="module")
def results():
    """(framework, variant, workload) -> _run(...), computed on first use; ("float64", workload) is the
    same training run in torch eager with a float64 copy of the spec: the high-precision trajectory."""
    cache = {}

    def get(framework, variant, workload):
        key = (framework, variant, workload)
        if key not in cache:
            if framework == "float64":
                cache[key] = _run("torch", "eager", dataclasses.replace(_spec(workload), dtype="float64"))
            else:
                cache[key] = _run(framework, variant, _spec(workload))
        return cache[key]

    return get


def test_registry():
    assert NAMES == ["jax", "tensorflow", "torch"]
    with pytest.raises(KeyError, match="unknown framework 'mxnet'"):
        frameworks.variants("mxnet")


@pytest.mark.parametrize("name", NAMES)
def test_static_variants_match_the_adapter(name):
    adapter = frameworks.get_adapter(name)
    assert frameworks.variants(name) == adapter.variants
    assert set(adapter.variants.values()) <= set(frameworks.MODES)
    assert adapter.version()
    assert frameworks.device_variants(name) == adapter.device_variants
    assert set(adapter.device_variants) <= set(adapter.variants)


@pytest.mark.parametrize("name", NAMES)
def test_no_device_memory_peak_on_cpu(name):
    adapter = frameworks.get_adapter(name)
    adapter.reset_peak_device_memory("cpu")
    assert adapter.peak_device_memory_bytes("cpu") is None


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("name", NAMES)
def test_identical_initial_weights(name, workload):
    adapter = frameworks.get_adapter(name)
    spec = get_workload(workload)
    got, want = adapter.weights(adapter.build(spec, "cpu")), spec.init_weights()
    assert list(got) == list(want)
    for k in want:
        assert got[k].shape == want[k].shape and got[k].dtype == want[k].dtype, k
        assert np.array_equal(got[k], want[k]), k


@pytest.mark.parametrize(
    "workload, name, variant",
    tiered(
        [c for w in WORKLOADS for c in _cases(w)]
        + [c for w in STACKED for c in _cases(w) if c[2] in ("eager", "torch.compile", "tf.function", "jax.jit")],
        lambda case: case[0] in IN_CI,
    ),
)
def test_first_step_loss_inference_and_learning(results, name, variant, workload):
    spec = _spec(workload)
    x, y = spec.batch(BATCH)
    init = spec.init_weights()
    r = results(name, variant, workload)
    ref = spec.reference_loss(init, x, y)
    assert abs(r["losses"][0] - ref) / ref < FIRST_STEP_RTOL
    assert r["losses"][-1] < r["losses"][0]  # SGD on one batch must reduce its loss
    assert np.max(np.abs(r["fresh"] - spec.reference_output(init, x))) < INFER_ATOL


def _numpy_sgd_mlp(spec, x, y, steps):
    """Plain SGD on the MLP in float64 NumPy with hand-written backprop: losses of steps + 1 forward passes."""
    w = {k: v.astype(np.float64) for k, v in spec.init_weights().items()}
    n, losses = spec.n_layers, []
    for _ in range(steps + 1):
        hs = [x.astype(np.float64)]
        for i in range(n):
            z = hs[-1] @ w[f"dense{i}/w"] + w[f"dense{i}/b"]
            hs.append(np.maximum(z, 0.0) if i < n - 1 else z)
        p = np.exp(hs[-1] - hs[-1].max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        losses.append(-np.log(p[np.arange(len(y)), y]).mean())
        g = p.copy()
        g[np.arange(len(y)), y] -= 1.0
        g /= len(y)
        grads = {}
        for i in reversed(range(n)):
            grads[f"dense{i}/w"], grads[f"dense{i}/b"] = hs[i].T @ g, g.sum(axis=0)
            g = (g @ w[f"dense{i}/w"].T) * (hs[i] > 0)
        for k in w:
            w[k] -= spec.lr * grads[k]
    return np.array(losses)


def test_float64_trajectory_is_the_reference(results):
    """The float64 run that anchors the 5-step check computes the NumPy reference, and plain SGD."""
    for workload in WORKLOADS:
        spec = get_workload(workload)
        x, y = spec.batch(BATCH)
        got = results("float64", "eager", workload)
        assert abs(got["losses"][0] - spec.reference_loss(spec.init_weights(), x, y)) < 1e-10
        assert np.allclose(got["fresh"], spec.reference_output(spec.init_weights(), x), rtol=0, atol=1e-10)
    spec = get_workload("mlp")
    x, y = spec.batch(BATCH)
    assert np.allclose(
        results("float64", "eager", "mlp")["losses"], _numpy_sgd_mlp(spec, x, y, N_STEPS), rtol=1e-10, atol=0
    )


@pytest.mark.parametrize("workload", tiered(WORKLOADS, lambda w: w in IN_CI))
def test_losses_over_five_steps_agree_across_frameworks(results, workload):
    spec = get_workload(workload)
    tol = spec.loss_rtol_after_steps
    ref = results("float64", "eager", workload)
    runs = {(f, v): results(f, v, workload) for _, f, v in _cases(workload)}
    # Each framework against the float64 run, step by step ...
    for case, r in runs.items():
        rel = np.abs(r["losses"] - ref["losses"]) / ref["losses"]
        assert rel.max() <= tol, (case, rel)
    # ... and the frameworks against each other (the spread of the loss after N_STEPS updates).
    final = np.array([r["losses"][-1] for r in runs.values()])
    assert (final.max() - final.min()) / ref["losses"][-1] <= tol
    # Trained models also infer alike: inference sees the updated weights and running statistics.
    scale = np.max(np.abs(ref["trained"]))
    for case, r in runs.items():
        assert np.max(np.abs(r["trained"] - ref["trained"])) <= TRAINED_LOGITS_RTOL * scale, case


@EXTENDED  # the cnn's: compiled cold, as in CI, each costs about a minute (IN_CI)
@pytest.mark.parametrize("name, variant", [c[1:] for c in _cases("cnn")])
def test_batch_norm_running_statistics_agree(results, name, variant):
    """Every framework updates the running statistics the torch way (momentum 0.1, unbiased batch variance)."""
    ref = results("float64", "eager", "cnn")["bn_statistics"]
    got = results(name, variant, "cnn")["bn_statistics"]
    assert sorted(got) == sorted(get_workload("cnn").bn_names()) == sorted(ref)
    for prefix, (mean, var) in got.items():
        ref_mean, ref_var = ref[prefix]
        assert np.max(np.abs(var - 1.0)) > 1e-2  # they did move
        assert np.max(np.abs(mean - ref_mean)) <= BN_MEAN_ATOL, prefix
        assert np.max(np.abs(var - ref_var) / ref_var) <= BN_VAR_RTOL, prefix


@pytest.mark.parametrize("name", NAMES)
def test_sync_waits_for_the_work(name):
    """A step that is measured with the adapter's sync takes as long as one forced to finish via NumPy."""
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    x, _ = spec.batch(1024)
    model = adapter.build(spec, "cpu")
    xd = adapter.to_device(x, "cpu")
    infer = adapter.infer_step(model, "eager")
    steps = {"synced": lambda: adapter.sync(infer(xd)), "forced": lambda: adapter.to_numpy(infer(xd))}
    times = {n: [] for n in steps}
    rng = random.Random(0)
    # Interleaved in a seeded order, so that a busy moment of the machine (make test runs two suites at once)
    # slows both alike; measured one after the other, a burst during the second once made it 3x slower.
    for i in range(24):
        for n in rng.sample(sorted(steps), 2):
            began = time.perf_counter()
            steps[n]()
            if i >= 4:  # warm-up
                times[n].append(time.perf_counter() - began)
    synced, forced = (float(np.median(times[n])) for n in ("synced", "forced"))
    assert synced > 0.5 * forced


@pytest.mark.parametrize("name", NAMES)
def test_unknown_device_and_variant(name):
    adapter = frameworks.get_adapter(name)
    with pytest.raises(DeviceUnavailable):
        adapter.device_info("tpu9")
    with pytest.raises(ValueError, match="no variant"):
        adapter.check_variant("warp-speed")


@pytest.mark.parametrize("name", NAMES)
def test_static_debug_tools_match_the_hook_module(name):
    from fwbench.experiments.debugging import hooks

    assert hooks.tools(name) == hooks.get(name).TOOLS
    assert "none" in hooks.tools(name)
    assert all(set(modes.split(",")) <= {"eager", "graph"} for modes in hooks.tools(name).values())


@pytest.mark.parametrize("name", NAMES)
def test_static_export_paths_match_the_exporter_and_include_keras3(name):
    import importlib

    from fwbench import exporters

    assert exporters.paths(name) == importlib.import_module(f"fwbench.exporters.{name}").PATHS
    assert exporters.paths(name)["keras3"] == f"keras:{name}"  # each framework is also a Keras 3 backend


@pytest.mark.parametrize("name", NAMES)
def test_export_of_an_unknown_path_names_the_known_ones(name, tmp_path):
    from fwbench import exporters
    from fwbench.workloads import get_workload

    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    with pytest.raises(ValueError, match="no export path 'zip'"):
        exporters.export(name, adapter.build(spec, "cpu"), spec, "zip", tmp_path, spec.batch(2)[0])


@pytest.mark.parametrize("name", NAMES)
def test_debug_target_runs_the_catalogue_plumbing(name):
    from fwbench.experiments.debugging import hooks
    from fwbench.experiments.debugging.bugs import BUGS
    from fwbench.experiments.debugging.harness import OUTCOMES, run_case

    target = hooks.get(name).target(frameworks.get_adapter(name))
    # Plain eager code with a print of a concrete value: the adapter's API must be wired right.
    assert run_case(target, BUGS["print"], "eager")["outcome"] == "works"
    for tool in hooks.tools(name):
        with target.tool(tool):
            pass
    with pytest.raises(ValueError, match="no debugging tool"):
        with target.tool("no-such-tool"):
            pass
    assert run_case(target, BUGS["control_flow"], "graph")["outcome"] in OUTCOMES


# ---- like for like (what each variant times) ----------------------------------------------------------------


def _graph_count(name, step):
    """Graphs the compiled function behind `step` holds so far (torch: process-wide, take differences)."""
    if name == "torch":
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
    if name == "tensorflow":
        return step.experimental_get_tracing_count()
    return step.compiled._cache_size()


@pytest.mark.parametrize("name, variant", [c for c in CASES if frameworks.variants(c[0])[c[1]] == "graph"])
def test_one_graph_per_inference_batch_size(name, variant):
    """Every compiled variant specialises its inference graph to each batch size, as TF and JAX do by nature:
    torch's automatic dynamic shapes would compile 2 graphs for 3 sizes and then serve all of them with one."""
    adapter = frameworks.get_adapter(name)
    if name == "torch":
        import torch

        torch._dynamo.reset()
    spec = get_workload("mlp")
    step = adapter.infer_step(adapter.build(spec, "cpu"), variant)
    before = _graph_count(name, step)
    for batch in (2, 3, 5):
        adapter.sync(step(adapter.to_device(spec.batch(batch)[0], "cpu")))
        adapter.sync(step(adapter.to_device(spec.batch(batch)[0], "cpu")))  # the same size again: no new graph
    assert _graph_count(name, step) - before == 3


def test_torch_automatic_dynamic_shapes_are_a_separate_policy():
    import torch
    from torch._dynamo.utils import counters

    adapter = frameworks.get_adapter("torch")
    assert adapter.shape_policies("torch.compile") == ["static", "automatic"]
    assert adapter.shape_policies("eager") == ["static"]
    torch._dynamo.reset()
    spec = get_workload("mlp")
    step = adapter.infer_step(adapter.build(spec, "cpu"), "torch.compile", shapes="automatic")
    before = int(counters["stats"]["unique_graphs"])
    for batch in (2, 3, 5):
        step(adapter.to_device(spec.batch(batch)[0], "cpu"))
    assert int(counters["stats"]["unique_graphs"]) - before == 2  # static, then one dynamic graph for the rest


def test_torch_compiled_train_step_is_one_graph_with_backward_and_update():
    """The torch.compile variant captures forward, backward and the SGD update in one graph, as tf.function and
    jax.jit do; torch.compile-forward leaves the update (and the autograd.grad call) outside."""
    import torch

    graphs = []

    def recording(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    adapter = frameworks.get_adapter("torch")
    spec = get_workload("mlp")
    x, y = (adapter.to_device(a, "cpu") for a in spec.batch(4))
    for variant, want_update in (("torch.compile", True), ("torch.compile-forward", False)):
        torch._dynamo.reset()
        graphs.clear()
        model = adapter.build(spec, "cpu")
        original = torch.compile
        torch.compile = lambda fn, **kw: original(
            fn, backend=recording, fullgraph=kw.get("fullgraph", False), dynamic=kw.get("dynamic")
        )
        try:
            step = adapter.train_step(model, variant)
            step(x, y)
        finally:
            torch.compile = original
        targets = [str(n.target) for g in graphs for n in g.graph.nodes]
        assert len(graphs) == 1, variant
        assert any("_foreach_add_" in t for t in targets) == want_update, variant
        if want_update:  # the backward is in the graph: the functional gradient, not a graph break
            assert any("grad" in t.lower() for t in targets), targets


@pytest.mark.parametrize("name", NAMES)
def test_eager_steps_report_their_op_counts(name):
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    x, y = (adapter.to_device(a, "cpu") for a in spec.batch(4))
    model = adapter.build(spec, "cpu")
    train, infer = adapter.train_step(model, "eager"), adapter.infer_step(model, "eager")
    n_train, n_infer = adapter.eager_ops(train, x, y), adapter.eager_ops(infer, x)
    # Forward alone launches at least one op per layer; training adds the loss, the backward and the update.
    assert n_infer >= spec.n_layers
    assert n_train > n_infer
    deeper = dataclasses.replace(spec, sizes=(*spec.sizes[:-1], spec.sizes[-2], spec.sizes[-1]))
    assert adapter.eager_ops(adapter.infer_step(adapter.build(deeper, "cpu"), "eager"), x) > n_infer


@pytest.mark.parametrize("name", NAMES)
def test_every_variant_says_what_it_times(name):
    adapter = frameworks.get_adapter(name)
    for variant in adapter.variants:
        facts = adapter.timed[variant]
        assert {"compiled scope", "update", "rnn loop"} <= set(facts), (name, variant)
    assert frameworks.family_variants(name) == adapter.family_variants
    assert set(adapter.family_variants) <= set(adapter.variants)


def test_rnn_loop_strategies_are_what_their_labels_say():
    import jax
    import tensorflow as tf

    spec = get_workload("rnn")
    x = spec.batch(2)[0]
    tf_adapter = frameworks.get_adapter("tensorflow")
    for variant, loop in (("tf.function", True), ("tf.function-unrolled", False)):
        step = tf_adapter.infer_step(tf_adapter.build(spec, "cpu"), variant)
        ops = {op.type for op in step.get_concrete_function(tf.constant(x)).graph.get_operations()}
        assert bool(ops & {"While", "StatelessWhile"}) == loop, variant
    jax_adapter = frameworks.get_adapter("jax")
    for variant, loop in (("jax.jit", True), ("jax.jit-unrolled", False)):
        step = jax_adapter.infer_step(jax_adapter.build(spec, "cpu"), variant)
        assert ("scan" in str(jax.make_jaxpr(lambda a: step(a))(x))) == loop, variant
        assert ("unrolled" in jax_adapter.timed[variant]["rnn loop"]) != loop
    assert "unrolled" in frameworks.get_adapter("torch").timed["torch.compile"]["rnn loop"]


@pytest.mark.parametrize("name", NAMES)
def test_compiled_train_steps_reuse_their_parameter_buffers(name):
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    x, y = (adapter.to_device(a, "cpu") for a in spec.batch(4))
    graph = next(v for v, m in adapter.variants.items() if m == "graph")
    model = adapter.build(spec, "cpu")
    step = adapter.train_step(model, graph)
    for _ in range(2):
        adapter.sync(step(x, y))
    assert adapter.buffer_donation(model) == ("donated" if name == "jax" else "in place")


CONFIGURE = """
import json, sys
from fwbench.measure import env
env.apply(1)
from fwbench.frameworks import get_adapter
print(json.dumps(get_adapter(sys.argv[1]).configure(1)))
"""


@pytest.mark.parametrize("name", NAMES)
def test_configure_sets_threads_and_precision_in_a_fresh_process(name):
    """Thread pools are sized once per process, so this runs where nothing configured the framework yet."""
    import json
    import subprocess
    import sys

    from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION

    out = subprocess.run([sys.executable, "-c", CONFIGURE, name], capture_output=True, text=True, check=True)
    in_effect = json.loads(out.stdout.strip().splitlines()[-1])
    assert in_effect["intra_op_threads"] == 1
    assert in_effect["inter_op_threads"] == INTER_OP_THREADS
    assert in_effect["matmul_precision"] == MATMUL_PRECISION
