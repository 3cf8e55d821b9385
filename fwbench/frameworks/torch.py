"""PyTorch adapter: eager modules and torch.compile."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from fwbench.errors import DeviceUnavailable
from fwbench.frameworks.base import MATMUL_PRECISION, Adapter
from fwbench.workloads.spec import BN_MOMENTUM, NORM_EPS


# Layouts: torch keeps dense weights as (fan_out, fan_in), as nn.Linear does, and conv weights as
# OIHW; the neutral spec has (fan_in, fan_out) and HWIO. Converted once at build time and back in weights().
def _to_torch_layout(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return np.ascontiguousarray(a.T)
    if a.ndim == 4:
        return np.ascontiguousarray(a.transpose(3, 2, 0, 1))  # HWIO -> OIHW
    return a


def _to_neutral_layout(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    if a.ndim == 2:
        return a.T.copy()
    if a.ndim == 4:
        return a.transpose(2, 3, 1, 0).copy()  # OIHW -> HWIO
    return a.copy()


def _key(name: str) -> str:
    return name.replace("/", "__")  # module attribute names may not contain '.', and '/' reads oddly in state dicts


class Net(torch.nn.Module):
    """Any workload: parameters keyed by the spec's names, batch-norm running statistics as buffers.

    forward(x, training) dispatches on the workload family. Batch norm uses
    batch statistics and updates the running ones when `training`, and the
    running statistics otherwise (F.batch_norm, momentum 0.1, eps 1e-5).
    """

    def __init__(self, spec, device):
        super().__init__()
        self.spec = spec
        self.names = list(spec.param_shapes())
        init = spec.init_weights()
        self.params = torch.nn.ParameterDict(
            {_key(n): torch.nn.Parameter(torch.from_numpy(_to_torch_layout(init[n])).to(device)) for n in self.names}
        )
        for prefix in spec.bn_names():
            c = init[f"{prefix}/gamma"].shape[0]
            dtype = self.params[_key(f"{prefix}/gamma")].dtype
            self.register_buffer(_key(prefix) + "__mean", torch.zeros(c, dtype=dtype, device=device))
            self.register_buffer(_key(prefix) + "__var", torch.ones(c, dtype=dtype, device=device))

    def p(self, name):
        return self.params[_key(name)]

    def forward(self, x, training: bool):
        return getattr(self, f"_{self.spec.family}")(x, training)

    def _dense(self, x, prefix):
        return F.linear(x, self.p(f"{prefix}/w"), self.p(f"{prefix}/b"))

    def _mlp(self, x, training):
        n = self.spec.n_layers
        for i in range(n):
            x = self._dense(x, f"dense{i}")
            if i < n - 1:
                x = F.relu(x)
        return x

    def _bn(self, x, prefix, training):
        k = _key(prefix)
        return F.batch_norm(
            x,
            getattr(self, k + "__mean"),
            getattr(self, k + "__var"),
            self.p(f"{prefix}/gamma"),
            self.p(f"{prefix}/beta"),
            training=training,
            momentum=BN_MOMENTUM,
            eps=NORM_EPS,
        )

    def _cnn(self, x, training):
        x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW as a view: the tensor stays channels_last in memory
        x = F.relu(self._bn(F.conv2d(x, self.p("stem/conv/w"), padding=1), "stem/bn", training))
        for b in self.spec.blocks():
            p = b.prefix
            r = F.relu(self._bn(F.conv2d(x, self.p(f"{p}/conv1/w"), stride=b.stride, padding=1), f"{p}/bn1", training))
            r = self._bn(F.conv2d(r, self.p(f"{p}/conv2/w"), padding=1), f"{p}/bn2", training)
            if b.projection:
                x = self._bn(F.conv2d(x, self.p(f"{p}/proj/w"), stride=b.stride), f"{p}/proj_bn", training)
            x = F.relu(r + x)
        return self._dense(x.mean(dim=(2, 3)), "head")

    def _transformer(self, x, training):
        s = self.spec
        b, t, d = x.shape

        def heads(h):
            return h.view(b, t, s.n_heads, s.d_head).transpose(1, 2)

        # Causal: scores above the diagonal become -inf, so their probabilities are exactly 0 (as the reference).
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril() if s.causal else None
        for p in s.layer_prefixes():
            h = F.layer_norm(x, (d,), self.p(f"{p}ln1/gamma"), self.p(f"{p}ln1/beta"), NORM_EPS)
            q, k, v = (heads(self._dense(h, f"{p}attn/{part}")) for part in ("q", "k", "v"))
            scores = (q @ k.transpose(-2, -1)) * (1.0 / s.d_head**0.5)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            x = x + self._dense((probs @ v).transpose(1, 2).reshape(b, t, d), f"{p}attn/out")
            h = F.layer_norm(x, (d,), self.p(f"{p}ln2/gamma"), self.p(f"{p}ln2/beta"), NORM_EPS)
            x = x + self._dense(F.gelu(self._dense(h, f"{p}mlp/fc1"), approximate="none"), f"{p}mlp/fc2")
        return self._dense(x.mean(dim=1), "head")

    def _rnn(self, x, training):
        # A plain Python loop in eager mode; torch.compile traces it and unrolls all time steps.
        w_ih, w_hh, bias = self.p("rnn/w_ih"), self.p("rnn/w_hh"), self.p("rnn/b")
        h = x.new_zeros((x.shape[0], self.spec.hidden))
        for t in range(self.spec.seq_len):
            h = torch.tanh(F.linear(x[:, t], w_ih) + F.linear(h, w_hh, bias))
        return self._dense(h, "head")


class Inference(torch.nn.Module):
    """The inference forward as the one-argument module every exporter expects: x -> logits."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x, False)


class TorchAdapter(Adapter):
    name = "torch"
    distribution = "torch"
    variants = {
        "eager": "eager",
        "torch.compile": "graph",
        "torch.compile-forward": "graph",
        "torch.compile-reduce-overhead": "graph",
    }
    # mode="reduce-overhead" replays CUDA graphs; on CPU it is the default mode under another name.
    device_variants = {"torch.compile-reduce-overhead": ["cuda"]}
    # Its inference is torch.compile's: the same forward, and dynamo would hand one variant the other's graph.
    variant_phases = {"torch.compile-forward": ["train"]}
    timed = {
        "eager": {
            "compiled scope": "nothing: op by op",
            "update": "torch.optim.SGD(foreach=True): one fused _foreach_add_",
            "layers": "F.linear, F.batch_norm, F.layer_norm (fused)",
            "rnn loop": "Python loop",
        },
        "torch.compile": {
            "compiled scope": "whole train step: forward, loss, backward (torch.func.grad_and_value), update; one graph (fullgraph)",
            "update": "_foreach_add_ inside the graph (what SGD(foreach=True) runs)",
            "layers": "inductor-generated",
            "rnn loop": "unrolled (dynamo traces the Python loop; no stable loop construct)",
        },
        "torch.compile-forward": {
            "compiled scope": "forward and loss (torch.compile(model)); backward via AOTAutograd; update eager",
            "update": "torch.optim.SGD(foreach=True), eager",
            "layers": "inductor-generated",
            "rnn loop": "unrolled (dynamo traces the Python loop)",
        },
        "torch.compile-reduce-overhead": {
            "compiled scope": "whole train step as torch.compile, replayed as CUDA graphs",
            "update": "_foreach_add_ inside the graph",
            "layers": "inductor-generated",
            "rnn loop": "unrolled",
        },
    }

    def configure(self, threads: int) -> dict:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only settable once per process, before parallel work; the check reads what is in effect
            pass
        torch.set_float32_matmul_precision(MATMUL_PRECISION)
        return {
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "matmul_precision": torch.get_float32_matmul_precision(),
            "onednn": f"{'on' if torch.backends.mkldnn.is_available() else 'off'}, fp32 matmul "
            f"{torch.backends.mkldnn.matmul.fp32_precision}",
        }

    def device_info(self, device: str) -> dict:
        if device == "cpu":
            return {"device_name": "cpu", "backend": torch.backends.cpu.get_cpu_capability()}
        if device == "cuda":
            if not torch.cuda.is_available():
                raise DeviceUnavailable("torch sees no CUDA device (CPU-only build or no GPU)")
            props = torch.cuda.get_device_properties(0)
            return {"device_name": props.name, "cuda": torch.version.cuda, "device_memory_bytes": props.total_memory}
        raise DeviceUnavailable(f"torch adapter does not support device {device!r}")

    def reset_peak_device_memory(self, device: str) -> None:
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def peak_device_memory_bytes(self, device: str) -> int | None:
        return int(torch.cuda.max_memory_allocated()) if device == "cuda" else None

    def build(self, spec, device: str):
        return {"module": Net(spec, device), "lr": spec.lr, "device": device}

    def weights(self, model):
        module = model["module"]
        return {n: _to_neutral_layout(module.p(n)) for n in module.names}

    def to_device(self, array, device):
        return torch.from_numpy(array).to(device)

    def train_step(self, model, variant):
        mode = self.check_variant(variant)
        module, lr = model["module"], model["lr"]
        begin = _step_marker(variant)
        if variant in _WHOLE_STEP:
            return self._compiled_train_step(module, lr, variant, begin)
        # What torch's tutorials teach: the module's forward, loss.backward(), then the optimizer.
        # SGD(foreach=True) applies the whole update as one fused _foreach_add_.
        optimizer = torch.optim.SGD(module.parameters(), lr=lr, foreach=True)
        forward = (
            _compiled(lambda x, y: F.cross_entropy(module(x, True), y), variant)
            if mode == "graph"
            else (lambda x, y: F.cross_entropy(module(x, True), y))
        )

        def step(x, y):
            begin()
            optimizer.zero_grad(set_to_none=True)
            loss = forward(x, y)
            loss.backward()
            optimizer.step()
            return loss.detach()

        return step

    def _compiled_train_step(self, module, lr, variant, begin):
        """The whole step (forward, loss, backward, SGD update) as one graph, as tf.function and jax.jit compile it.

        dynamo cannot trace loss.backward(), but it traces torch.func's functional gradient, so forward,
        backward and the in-place update land in one graph (fullgraph=True refuses a break). The update is
        the _foreach_add_ that SGD(foreach=True) runs. Under the outer no_grad the graph needs no autograd
        of its own; torch.func.grad still differentiates (it is a transform, not a mode).
        """
        params = dict(module.named_parameters())
        buffers = dict(module.named_buffers())
        plist = list(params.values())

        def loss_fn(p, x, y):
            return F.cross_entropy(torch.func.functional_call(module, (p, buffers), (x, True)), y)

        def whole_step(x, y):
            with torch.no_grad():
                grads, loss = torch.func.grad_and_value(loss_fn)(params, x, y)
                torch._foreach_add_(plist, [grads[k] for k in params], alpha=-lr)
            return loss

        compiled = _compiled(whole_step, variant, fullgraph=True)

        def step(x, y):
            begin()
            return compiled(x, y)

        return step

    def infer_step(self, model, variant, shapes="static"):
        mode = self.check_variant(variant)
        module = model["module"]

        def forward(x):
            return module(x, False)

        if mode == "graph":
            # static: one graph specialised to each batch size (as TF and JAX compile); automatic: torch's
            # default, which recompiles once for dynamic shapes when a second size arrives.
            forward = _compiled(forward, variant, dynamic=None if shapes == "automatic" else False)
        begin = _step_marker(variant)

        def step(x):
            begin()
            with torch.no_grad():
                return forward(x)

        return step

    def fresh_compiler_caches(self):
        # dynamo keys compiled graphs by code object and, with parameters as graph inputs, would reuse one
        # compiled for another model of the same shapes.
        torch._dynamo.reset()

    def shape_policies(self, variant):
        return ["static", "automatic"] if self.check_variant(variant) == "graph" else ["static"]

    def eager_ops(self, step, *args) -> int:
        counter = _OpCounter()
        with counter:
            self.sync(step(*args))
        return counter.n

    def sync(self, out) -> None:
        if isinstance(out, torch.Tensor) and out.is_cuda:
            torch.cuda.synchronize(out.device)

    def to_numpy(self, value):
        return value.detach().cpu().numpy()


#: Variants whose training step is compiled whole (forward, backward, update); torch.compile-forward
#: compiles what `torch.compile(model)` does: forward and loss, the backward through AOTAutograd.
_WHOLE_STEP = ("torch.compile", "torch.compile-reduce-overhead")


def _compiled(fn, variant: str, fullgraph: bool = False, dynamic: bool | None = False):
    # dynamic=False: a graph specialised to every shape, so a second batch size recompiles (and is timed
    # as a shape change) instead of switching silently to a dynamic-shape graph.
    mode = "reduce-overhead" if variant == "torch.compile-reduce-overhead" else None
    return torch.compile(fn, mode=mode, fullgraph=fullgraph, dynamic=dynamic)


class _OpCounter(TorchDispatchMode):
    """Counts the aten operators an eager step dispatches to kernels (backward and update included)."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


def _step_marker(variant: str):
    """What runs before each step: with CUDA graphs, mark a new step so the previous step's
    outputs may be overwritten by the replay (torch asks for this in training loops)."""
    if variant == "torch.compile-reduce-overhead":
        return torch.compiler.cudagraph_mark_step_begin
    return lambda: None
