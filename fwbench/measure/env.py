"""The one place where process-wide settings (threads, logging, compiler caches) are applied and recorded."""

from __future__ import annotations

import os
import sys

from fwbench.privacy import is_credential_name, looks_like_token

#: Settings applied to every measuring process, before any framework loads.
#: Why each: TensorFlow and XLA print pages of start-up chatter otherwise; JAX
#: would grab most GPU memory up front and distort memory numbers.
QUIET_FLAGS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

#: Environment variables recorded with every run (manifests, job settings, job keys) because they can change a
#: number: thread pools and their affinity, compiler flags and caches, precision overrides, which devices are seen.
#: An explicit list, not prefixes: prefixes also matched look-alikes that belong to other tools and carry
#: secrets (TF_API_TOKEN and TF_TOKEN_<host> are Terraform's, NVIDIA_API_KEY, TRITON_API_KEY and
#: TORCHSERVE_AUTH_TOKEN are service credentials), and whatever is recorded travels in bundles and the book.
RECORDED_VARIABLES = frozenset(
    {
        # OpenMP, MKL, OpenBLAS and the other thread pools: how many threads, and where they run and spin.
        "OMP_NUM_THREADS",
        "OMP_DYNAMIC",
        "OMP_PROC_BIND",
        "OMP_PLACES",
        "OMP_WAIT_POLICY",
        "OMP_SCHEDULE",
        "OMP_MAX_ACTIVE_LEVELS",
        "OMP_THREAD_LIMIT",
        "OMP_STACKSIZE",
        "MKL_NUM_THREADS",
        "MKL_DYNAMIC",
        "MKL_THREADING_LAYER",
        "MKL_ENABLE_INSTRUCTIONS",
        "MKL_CBWR",
        "MKL_DEBUG_CPU_TYPE",
        "OPENBLAS_NUM_THREADS",
        "OPENBLAS_CORETYPE",
        "BLIS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "KMP_AFFINITY",
        "KMP_BLOCKTIME",
        "KMP_HW_SUBSET",
        "KMP_LIBRARY",
        "KMP_TOPOLOGY_METHOD",
        # TensorFlow and Keras.
        "TF_ENABLE_ONEDNN_OPTS",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_CPP_MAX_VLOG_LEVEL",
        "TF_NUM_INTEROP_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_XLA_FLAGS",
        "TF_GPU_ALLOCATOR",
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "TF_GPU_THREAD_MODE",
        "TF_GPU_THREAD_COUNT",
        "TF_DETERMINISTIC_OPS",
        "TF_CUDNN_DETERMINISTIC",
        "TF_ENABLE_AUTO_MIXED_PRECISION",
        "TF_USE_LEGACY_KERAS",
        "KERAS_BACKEND",
        # XLA and JAX: compiler flags, memory preallocation, precision, the compilation cache.
        "XLA_FLAGS",
        "XLA_PYTHON_CLIENT_PREALLOCATE",
        "XLA_PYTHON_CLIENT_MEM_FRACTION",
        "XLA_PYTHON_CLIENT_ALLOCATOR",
        "JAX_PLATFORMS",
        "JAX_PLATFORM_NAME",
        "JAX_ENABLE_X64",
        "JAX_DEFAULT_MATMUL_PRECISION",
        "JAX_DISABLE_JIT",
        "JAX_DEBUG_NANS",
        "JAX_DEBUG_INFS",
        "JAX_ENABLE_CHECKS",
        "JAX_DEFAULT_DTYPE_BITS",
        "JAX_ENABLE_COMPILATION_CACHE",
        "JAX_COMPILATION_CACHE_DIR",
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
        # PyTorch, TorchInductor and Triton: compile switches, autotuning, caches, allocator, TF32.
        "TORCHINDUCTOR_CACHE_DIR",
        "TORCHINDUCTOR_FX_GRAPH_CACHE",
        "TORCHINDUCTOR_AUTOGRAD_CACHE",
        "TORCHINDUCTOR_FORCE_DISABLE_CACHES",
        "TORCHINDUCTOR_MAX_AUTOTUNE",
        "TORCHINDUCTOR_MAX_AUTOTUNE_GEMM",
        "TORCHINDUCTOR_MAX_AUTOTUNE_POINTWISE",
        "TORCHINDUCTOR_COORDINATE_DESCENT_TUNING",
        "TORCHINDUCTOR_COMPILE_THREADS",
        "TORCHINDUCTOR_FREEZING",
        "TORCHINDUCTOR_CPP_WRAPPER",
        "TORCHDYNAMO_DISABLE",
        "TORCH_COMPILE_DISABLE",
        "TORCH_COMPILE_DEBUG",
        "TORCH_LOGS",
        "TORCH_CUDA_ARCH_LIST",
        "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
        "PYTORCH_CUDA_ALLOC_CONF",
        "PYTORCH_NO_CUDA_MEMORY_CACHING",
        "TRITON_CACHE_DIR",
        "TRITON_HOME",
        "TRITON_INTERPRET",
        "TRITON_ALWAYS_COMPILE",
        "TRITON_F32_DEFAULT",
        # CUDA and the NVIDIA container runtime: which devices are seen, the toolkit, precision and launch behaviour.
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "CUDA_LAUNCH_BLOCKING",
        "CUDA_MODULE_LOADING",
        "CUDA_VERSION",
        "CUDA_HOME",
        "CUDA_CACHE_DISABLE",
        "CUDA_CACHE_MAXSIZE",
        "CUDA_DEVICE_MAX_CONNECTIONS",
        "CUBLAS_WORKSPACE_CONFIG",
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "NVIDIA_REQUIRE_CUDA",
        "NVIDIA_PRODUCT_NAME",
        "NVIDIA_TF32_OVERRIDE",
        # Python itself.
        "PYTHONHASHSEED",
        "PYTHONWARNINGS",
    }
)


def recordable(name: str, value: str) -> bool:
    """Whether a variable is recorded: listed, and neither its name nor its value looks like a credential."""
    return name in RECORDED_VARIABLES and not is_credential_name(name) and not looks_like_token(value)


_FRAMEWORK_MODULES = ("torch", "tensorflow", "jax", "numpy")


def available_cpus() -> list[int]:
    """CPUs this process may run on (respects taskset / cgroup affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def resolve_threads(threads: int | str) -> int:
    """Turn a profile's `threads` value ('auto' or a positive int) into a count."""
    n_cpu = len(available_cpus())
    if threads == "auto":
        return n_cpu
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be 'auto' or a positive integer, got {threads!r}")
    return min(threads, n_cpu)


def apply(threads: int | str = "auto", cache_dir: str | None = None) -> dict:
    """Apply the process-wide settings and return what was applied, for the record.

    Must run before numpy or a framework is imported: OpenMP and BLAS read their
    thread counts once, at load time. Raises if that already happened, because a
    silently ignored thread setting would make the comparison unfair.
    """
    loaded = [m for m in _FRAMEWORK_MODULES if m in sys.modules]
    if loaded:
        raise RuntimeError(f"fwbench.measure.env.apply() must run before importing {', '.join(loaded)}")
    n = resolve_threads(threads)
    cpus = available_cpus()[:n]
    # Pinning the process to n CPUs is what bounds XLA's CPU thread pool (it has no
    # thread-count flag); the frameworks' own knobs are set to the same n below.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    settings = dict(QUIET_FLAGS)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        settings[var] = str(n)
    cache_state = "default"
    if cache_dir:
        # Compiler caches live in a per-cell directory the runner owns: empty for the
        # cell's first process (a cold compile), filled by it for the next ones (warm).
        # Only compilers that keep an on-disk cache leave anything there; TensorFlow
        # has none, so its later processes stay cold, and are labelled so.
        cache_state = "warm" if _has_files(cache_dir) else "cold"
        settings["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache_dir, "torchinductor")
        settings["TRITON_CACHE_DIR"] = os.path.join(cache_dir, "triton")
        settings["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache_dir, "jax")
        # JAX skips caching fast compiles by default; small CPU models compile fast.
        settings["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        settings["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    os.environ.update(settings)
    return {"threads": n, "cpu_affinity": cpus, "compile_cache": cache_state, "env": recorded_environment()}


def _has_files(root: str) -> bool:
    return any(files for _, _, files in os.walk(root))


def recorded_environment() -> dict[str, str]:
    """The environment variables that can influence a measurement (RECORDED_VARIABLES), credentials left out.

    Values are as set, paths included: what is stored is scrubbed of private paths later (fwbench.privacy)."""
    return {k: v for k, v in sorted(os.environ.items()) if recordable(k, v)}
