"""Installs requirements.lock and the package into a venv: with uv where it can be had, else with pip.

    python scripts/install_lock.py VENV_PYTHON [--lock requirements.lock] [--pip-only]

What `make setup` runs. uv installs the same pins as pip (the lock stays the one source of versions,
uv's own pin included), with every module's bytecode compiled as pip does, in a fraction of the time
(measured on the 2-core VM: see the README). uv does not read pip's configuration, so the package
sources pip is configured with (`pip config list`: pip.conf files and PIP_* variables; find-links,
index and extra-index URLs, constraint files) are handed to it as arguments, and it is told to weigh
every index alike, as pip does (`--index-strategy unsafe-best-match`). Wherever uv cannot be installed
or fails, pip installs the lock as before, so a machine without uv still gets the same environment.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: pip settings that say where packages come from -> the uv option that says the same.
PIP_TO_UV = {
    "find-links": "--find-links",
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "constraint": "--constraint",
}
_CONFIG_LINE = re.compile(r"^(?P<scope>[^.]*)\.(?P<key>[a-z-]+)=(?P<value>.*)$")


def uv_pin(lock: Path) -> str | None:
    """The `uv==X` line of the lock, or None when the lock does not pin uv."""
    for line in lock.read_text().splitlines():
        if re.fullmatch(r"uv==[\w.]+", line.strip()):
            return line.strip()
    return None


def pip_sources(config_list: str) -> list[str]:
    """uv arguments for the package sources in `pip config list` output (one `scope.key='value'` per line)."""
    args: list[str] = []
    for line in config_list.splitlines():
        match = _CONFIG_LINE.match(line.strip())
        if not match or match["key"] not in PIP_TO_UV:
            continue
        raw = match["value"]
        value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
        for item in value.split():  # pip takes several URLs or paths in one setting, whitespace-separated
            pair = [PIP_TO_UV[match["key"]], item]
            if not any(args[i : i + 2] == pair for i in range(0, len(args), 2)):  # env and file may repeat a value
                args += pair
    return args


def _run(cmd: list[str]) -> int:
    print("+", shlex.join(cmd), flush=True)
    return subprocess.run(cmd, cwd=REPO).returncode


def install_with_uv(python: str, lock: Path) -> bool:
    pin = uv_pin(lock)
    if pin is None or _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", pin]) != 0:
        return False
    config = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, cwd=REPO)
    # --compile-bytecode: pip writes every module's .pyc at install and uv does not; where the environment says
    # PYTHONDONTWRITEBYTECODE (this VM and CI do), nothing writes them later, and every process then compiles
    # what it imports from source (measured: `import tensorflow` 20 s instead of 5 s in every job).
    uv = [python, "-m", "uv", "pip", "install", "--python", python, "--quiet", "--compile-bytecode"]
    sources = [*pip_sources(config.stdout), "--index-strategy", "unsafe-best-match"]
    # The package itself is this checkout's source: only the lock's packages need compiling (once).
    editable = [u for u in uv if u != "--compile-bytecode"]
    return (
        _run([*uv, *sources, "-r", str(lock)]) == 0
        and _run([*editable, "--no-deps", "--no-build-isolation", "-e", str(REPO)]) == 0
    )


def install_with_pip(python: str, lock: Path) -> bool:
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return (
        _run([*pip, "-r", str(lock)]) == 0 and _run([*pip, "--no-deps", "--no-build-isolation", "-e", str(REPO)]) == 0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python", help="the venv's python")
    parser.add_argument("--lock", type=Path, default=REPO / "requirements.lock", help="the lock file to install")
    parser.add_argument("--pip-only", action="store_true", help="install with pip even where uv is available")
    args = parser.parse_args(argv)
    if not args.pip_only:
        if install_with_uv(args.python, args.lock):
            return 0
        print("install_lock: uv could not install the lock; installing it with pip", file=sys.stderr)
    return 0 if install_with_pip(args.python, args.lock) else 1


if __name__ == "__main__":
    sys.exit(main())
