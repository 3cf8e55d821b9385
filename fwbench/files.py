"""Files written so that a reader sees the old one or the whole new one (results, child outputs, manifests), and
whether the process that owns a scratch file is still alive."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write bytes so that readers see either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data) -> None:
    """Serialize first, so a value that is not JSON never truncates an existing file."""
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False, default=_json_default)
    _write_atomic(Path(path), text.encode())


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy a file into the store atomically."""
    _write_atomic(Path(dest), Path(src).read_bytes())


def _json_default(value):
    # NumPy scalars reach us from measurements; anything else is a bug worth failing on.
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (another user's counts): scratch named after a dead owner is left over."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, and is another user's
        return True
    return True
