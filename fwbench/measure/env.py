"""The one place where process-wide settings (threads, logging, compiler caches) are applied and recorded."""

from __future__ import annotations

import os
import sys

#: Settings applied to every measuring process, before any framework loads.
#: Why each: TensorFlow and XLA print pages of start-up chatter otherwise; JAX
#: would grab most GPU memory up front and distort memory numbers.
QUIET_FLAGS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

#: Environment variables recorded with every run because they can change a number.
RECORDED_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "TF_", "XLA_", "JAX_", "TORCH", "TRITON_",
                     "CUDA_", "NVIDIA_", "KMP_", "PYTHONHASHSEED", "PYTHONWARNINGS")

#: Look-alikes of the prefixes above that belong to other tools (Terraform's TF_*).
_UNRELATED_PREFIXES = ("TF_CLI_", "TF_VAR_", "TF_LOG", "TF_PLUGIN", "TF_DATA_DIR", "TF_IN_AUTOMATION")

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
    """The environment variables that can influence a measurement."""
    return {k: v for k, v in sorted(os.environ.items())
            if k.startswith(RECORDED_PREFIXES) and not k.startswith(_UNRELATED_PREFIXES)}
