"""Reading untrusted files of a store or bundle: never through a symlink, never more bytes or nesting than a bound.

Everything in a store may have come from someone else's bundle. A symlinked log would let a run read (and a
bundle ship) any file of this machine; a JSON file nested 100,000 deep makes Python's parser raise
RecursionError in every command that reads the store; a file of gigabytes costs that much memory. Each of these
is one bad file: it is refused here with one line naming it, and costs only its own job or run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fwbench.errors import StoreError

#: Deeper than anything fwbench writes (a notebook's outputs are about 8 levels, a job about 6), far below
#: the depth at which Python's own recursion limit is reached by the code that walks what is read.
MAX_DEPTH = 64
#: Per kind of file: a full profile's largest job is a few MB, a notebook with its figures a few MB.
MAX_BYTES = {
    "manifest": 4 * 2**20,
    "job": 64 * 2**20,
    "notebook": 64 * 2**20,
    "log": 16 * 2**20,
    "imports": 16 * 2**20,
    "index": 16 * 2**20,
    "json": 16 * 2**20,
}


def symlink_in(path: Path, root: Path | None = None) -> Path | None:
    """The first symlink on the way from `root` (or the path's own parent) down to `path`, or None."""
    path = Path(path)
    if root is None:
        return path if path.is_symlink() else None
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path if path.is_symlink() else None
    here = Path(root)
    for part in rel.parts:
        here = here / part
        if here.is_symlink():
            return here
    return None


def read_bytes(path: Path, kind: str = "json", root: Path | None = None) -> bytes:
    """The bytes of the regular file at `path`, refused (StoreError naming it) if it is missing, a symlink or has
    one on its way down from `root`, or larger than its kind's bound, checked before reading."""
    path = Path(path)
    link = symlink_in(path, root)
    if link is not None:
        raise StoreError(f"{path}: {link.name} is a symbolic link; a store never follows links (remove it)")
    limit = MAX_BYTES[kind]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise StoreError(f"{path}: missing") from None
    except OSError as exc:
        raise StoreError(f"{path}: unreadable ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not os.path.stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path}: not a regular file")
        if info.st_size > limit:
            raise StoreError(f"{path}: {info.st_size} bytes; at most {limit} are read for a {kind} file")
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while being read
        raise StoreError(f"{path}: more than {limit} bytes; at most {limit} are read for a {kind} file")
    return data


def depth(value) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            if level > MAX_DEPTH:  # enough to refuse: no need to walk the rest
                return level
            stack.extend((v, level) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def loads(data: bytes | str, where, allow_nan: bool = False) -> object:
    """Parse JSON text from an untrusted source: one StoreError naming `where` for bad text, too deep nesting, or
    (unless allow_nan) NaN and infinities, which Python's parser accepts and fwbench never writes."""
    try:
        value = json.loads(data) if allow_nan else json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise StoreError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{where}: not valid JSON ({str(exc)[:120]})") from None
    except ValueError as exc:  # a number too long to convert, for one
        raise StoreError(f"{where}: not valid JSON ({str(exc)[:120]})") from None
    if depth(value) > MAX_DEPTH:
        raise StoreError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    return value


def read_json(path: Path, kind: str = "json", root: Path | None = None, allow_nan: bool = False) -> object:
    """`read_bytes` then `loads`."""
    return loads(read_bytes(path, kind, root), path, allow_nan)
