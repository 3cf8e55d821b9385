"""A Jupyter kernelspec for this interpreter, so papermill and the book never hit NoSuchKernel on a fresh machine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "fwbench"


def ensure_kernelspec(root: Path) -> Path:
    """Write `root/kernels/fwbench/kernel.json` pointing at this Python and return `root`.

    Callers put `root` first on JUPYTER_PATH; a user's own kernels elsewhere cannot
    shadow it or send notebooks to another interpreter.
    """
    spec_dir = Path(root) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "fwbench.run.kernel_launcher", "-f", "{connection_file}"],
        "display_name": f"fwbench ({Path(sys.prefix).name})",
        "language": "python",
        "metadata": {"debugger": False},
    }
    path = spec_dir / "kernel.json"
    if not path.exists() or json.loads(path.read_text()) != spec:
        path.write_text(json.dumps(spec, indent=1))
    return Path(root)


def jupyter_env(root: Path) -> dict[str, str]:
    """Environment with the fwbench kernelspec first on JUPYTER_PATH."""
    ensure_kernelspec(root)
    paths = [str(root)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return {"JUPYTER_PATH": os.pathsep.join(paths)}
