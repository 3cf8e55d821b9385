"""Hostile bundles for tests: a real bundle copied member by member with some members changed, checksums fixed."""

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

INDEX = "fwbench-bundle.json"


def rewrite(bundle: Path, out: Path, edit, added=()) -> Path:
    """Copy a bundle member by member, letting `edit(name, data)` return new (name, data) or None to drop it;
    `added` members (name, data) come last."""
    raw = io.BytesIO()
    with tarfile.open(bundle) as src, tarfile.open(fileobj=raw, mode="w") as dst:
        for info in src:
            data = src.extractfile(info).read()
            res = edit(info.name, data)
            if res is None:
                continue
            name, data = res
            new = tarfile.TarInfo(name)
            new.size = len(data)
            dst.addfile(new, io.BytesIO(data))
        for name, data in added:
            new = tarfile.TarInfo(name)
            new.size = len(data)
            dst.addfile(new, io.BytesIO(data))
    out.write_bytes(gzip.compress(raw.getvalue()))
    return out


def reindex(name, data, target, new_data):
    """Replace `target`'s bytes and fix its checksum in the index, so only deeper checks can catch it."""
    if name == target:
        return name, new_data
    if name == INDEX:
        index = json.loads(data)
        run, rel = target.split("/", 2)[1:]
        index["runs"][run]["files"][rel] = {"sha256": hashlib.sha256(new_data).hexdigest(), "bytes": len(new_data)}
        return name, json.dumps(index).encode()
    return name, data


def member(bundle: Path, name: str) -> bytes:
    with tarfile.open(bundle) as tar:
        return tar.extractfile(name).read()
