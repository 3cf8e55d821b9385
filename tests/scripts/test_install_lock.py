"""scripts/install_lock.py: pip's package sources handed to uv, uv's pin read from the lock, a real install."""

from __future__ import annotations

import importlib.util
import subprocess
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("install_lock", REPO / "scripts" / "install_lock.py")
install_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_lock)


def test_pip_sources_become_uv_arguments_once_each():
    listing = "\n".join(
        [
            ":env:.find-links='/opt/wheels'",
            ":env:.default-timeout='180'",
            "global.find-links='/opt/wheels'",
            "global.extra-index-url='file:///a/simple file:///b/simple'",
            "global.constraint='/etc/xdg/pip/constraints.txt'",
            'site.index-url="https://mirror.example/simple"',
            "not a config line",
        ]
    )
    assert install_lock.pip_sources(listing) == [
        "--find-links",
        "/opt/wheels",
        "--extra-index-url",
        "file:///a/simple",
        "--extra-index-url",
        "file:///b/simple",
        "--constraint",
        "/etc/xdg/pip/constraints.txt",
        "--index-url",
        "https://mirror.example/simple",
    ]
    assert install_lock.pip_sources("") == []


def test_uv_comes_from_the_lock(tmp_path):
    assert install_lock.uv_pin(REPO / "requirements.lock").startswith("uv==")
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nuvicorn==0.54.0\n")
    assert install_lock.uv_pin(lock) is None


def test_uv_installs_a_lock_into_a_fresh_venv(tmp_path):
    """A small lock (uv's own pin plus one pure-Python package from the lock) through the real uv path."""
    pins = [l for l in (REPO / "requirements.lock").read_text().splitlines() if l.startswith(("uv==", "six=="))]
    lock = tmp_path / "requirements.lock"
    # The editable install builds without isolation, with the venv's setuptools: the real lock pulls a
    # recent one in as a dependency (tensorboard's), this small one names it.
    lock.write_text("\n".join([*pins, "setuptools>=70"]) + "\n")
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    assert install_lock.install_with_uv(python, lock)
    frozen = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    assert [l for l in frozen.splitlines() if l.startswith("six==")] == [l for l in pins if l.startswith("six==")]
    assert subprocess.run([python, "-c", "import fwbench"], cwd=tmp_path, check=False).returncode == 0
    # Bytecode is compiled at install, as pip does: with PYTHONDONTWRITEBYTECODE nothing would write it later.
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    assert list((site / "six").parent.glob("__pycache__/six.*.pyc"))
