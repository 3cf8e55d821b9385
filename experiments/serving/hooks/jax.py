"""JAX's variants of the serving experiment."""

#: Variant (the runtime as readers know it) -> "server:source": server is a module of
#: fwbench.experiments.serving.servers, source an inference variant (served live) or an export path.
VARIANTS = {"jax.jit": "frontend:jax.jit", "jax-export": "frontend:jax-export", "onnxruntime": "frontend:jax2tf-onnx"}
