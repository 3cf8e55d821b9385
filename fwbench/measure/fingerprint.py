"""Machine and software fingerprint recorded with every run: everything that could explain a number."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from fwbench import __version__
from fwbench.measure.env import available_cpus, recorded_environment
from fwbench.measure.machine_name import hardware_name
from fwbench.paths import REPO

#: Distributions whose versions can change a result or the report.
PACKAGES = (
    "torch",
    "tensorflow-cpu",
    "tensorflow",
    "jax",
    "jaxlib",
    "keras",
    "numpy",
    "scipy",
    "pandas",
    "seaborn",
    "matplotlib",
    "papermill",
    "nbclient",
    "nbformat",
    "ipykernel",
    "jupyter-book",
    "myst-nb",
    "onnx",
    "onnxscript",
    "onnxruntime",
    "tf2onnx",
    "ai-edge-litert",
    "executorch",
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "aiohttp",
    "torchserve",
    "torch-model-archiver",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _physical_cores() -> int | None:
    try:
        pairs = set()
        phys = core = None
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("physical id"):
                phys = line.split(":")[1].strip()
            elif line.startswith("core id"):
                core = line.split(":")[1].strip()
                pairs.add((phys, core))
        return len(pairs) or None
    except OSError:
        return None


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gpus() -> list[dict]:
    """NVIDIA GPUs as nvidia-smi reports them (empty without a driver)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    result = []
    for line in out.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            result.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return result


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def git_commit() -> dict:
    """The project's commit and whether the working tree differs from it."""

    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=20)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": "unknown", "dirty": None}
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": "unknown", "dirty": None}


def hardware() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "architecture": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "usable_cpus": len(available_cpus()),
        "memory_bytes": _memory_bytes(),
        "gpus": gpus(),
        "virtual": _virtual(),
    }


def _virtual() -> bool | None:
    """Whether the CPU reports running under a hypervisor (x86 `hypervisor` flag); None where unreadable."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    flags = next((line for line in text.splitlines() if line.startswith("flags")), None)
    return None if flags is None else "hypervisor" in flags.split()


def machine_id(hw: dict) -> str:
    """Stable id of the hardware: same machine kind, same id; a readable prefix plus a hash."""
    key = repr(
        (
            hw["cpu_model"],
            hw["architecture"],
            hw["logical_cpus"],
            round((hw["memory_bytes"] or 0) / 2**30),
            [g["name"] for g in hw["gpus"]],
        )
    )
    slug = re.sub(r"[^a-z0-9]+", "-", hw["cpu_model"].lower()).strip("-")[:24] or "machine"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def plain_label(raw: str) -> str:
    """`raw` as a plain name (fwbench.store.store.NAME): anything else is replaced by '-', since labels reach
    page titles and Markdown."""
    label = re.sub(r"[^A-Za-z0-9 _.,:;+@()/-]", "-", raw.strip())[:200]
    return label if label[:1].isalnum() else f"m{label}"[:200]


def machine_label(hw: dict) -> tuple[str, str]:
    """A human name for this machine and where it came from: FWBENCH_MACHINE_LABEL ('env'), else one built
    from the hardware ('hardware'), such as '2 vCPU AMD EPYC VM'. Host names (`vm`, `localhost`) say nothing."""
    chosen = os.environ.get("FWBENCH_MACHINE_LABEL", "").strip()
    if chosen:
        return plain_label(chosen), "env"
    return plain_label(hardware_name(hw) or "machine"), "hardware"


#: Programs outside Python that an experiment may use: name -> the argument that prints its version.
TOOLS = {
    "java": "-version",
    "tensorflow_model_server": "--version",
    "taskset": "--version",
    "node": "--version",
    "chromium": "--version",
}


def tool_versions() -> dict[str, str | None]:
    """First line of each tool's version output, or None where it is not on PATH."""
    out = {}
    for name, flag in TOOLS.items():
        path = shutil.which(name)
        if path is None:
            out[name] = None
            continue
        try:
            proc = subprocess.run([path, flag], capture_output=True, text=True, timeout=30)
            text = (proc.stdout or proc.stderr).strip()
            out[name] = text.splitlines()[0] if text else path
        except (OSError, subprocess.SubprocessError):
            out[name] = path
    return out


def conditions() -> dict:
    """What the machine was doing when a run started: CPU frequency governor(s) and load average, where readable.

    Recorded, not keyed: they explain a number (a powersave governor, a busy machine) without making it
    a different measurement.
    """
    governors = set()
    for cpu in available_cpus():
        try:
            governors.add(open(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor").read().strip())
        except OSError:
            pass
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {"cpu_governor": ", ".join(sorted(governors)) or "not readable", "loadavg": load}


def collect() -> dict:
    """The full fingerprint of this machine and software, as stored in a run manifest.

    Scrubbed of private paths and secrets (fwbench.privacy): the interpreter's path names the maker's home folder.
    Job keys are made from this scrubbed form, so a stored manifest's inputs compare equal to a later `plan`'s.
    """
    from fwbench import privacy

    hw = hardware()
    label, source = machine_label(hw)
    return privacy.scrub(
        {
            "machine_id": machine_id(hw),
            "machine_label": label,
            "machine_label_source": source,
            "hardware": hw,
            "os": {"system": platform.system(), "release": platform.release(), "platform": platform.platform()},
            "python": {
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
                "executable": sys.executable,
            },
            "packages": package_versions(),
            "fwbench": {"version": __version__, **git_commit()},
            "environment": recorded_environment(),
            "tools": tool_versions(),
            "conditions": conditions(),
            "numerics": numerics(),
        }
    )


def numerics() -> dict:
    """The precision and thread policy every measuring process applies (fwbench.frameworks.base), and what
    it means on this machine. Each job also stores what its framework reported after applying it."""
    from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION

    meaning = (
        "full float32 matmuls (no TF32, no bfloat16 passes)"
        if not gpus()
        else "full float32 matmuls: TF32 off on the GPU (torch highest, TF tensor_float_32 off, JAX highest)"
    )
    if not gpus():
        meaning += (
            "; on this CPU-only machine the frameworks' float32 kernels (oneDNN, Eigen, XLA:CPU) are used as built"
        )
    return {"matmul_precision": MATMUL_PRECISION, "meaning": meaning, "inter_op_threads": INTER_OP_THREADS}
