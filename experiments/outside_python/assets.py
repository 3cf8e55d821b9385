"""The files outside Python this experiment's jobs run (the Node runner, the browser page, the npm and converter locks), pinned by digest so that editing one re-keys the jobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Repository path under this folder -> sha256 of its bytes. A job's key covers the Python it runs, not these
#: files; pinning their digests here puts them in it. tests/experiments/outside_python/test_assets.py says what
#: to write when one changes.
DIGESTS = {
    "converter/requirements.lock": "de8046bc58f63cd39474e4bf736cc851766e4fe116950793053f46d57309a700",
    "node/onnxruntime-node/package-lock.json": "c97fb13869b9f981c281be6fcfcf6099ead4dd6fb8a006ab34c7c30682ac897d",
    "node/onnxruntime-node/package.json": "c425fc57bc0f00e770385164b31c021b7775a9d59394c4fe4057153cc5471cd2",
    "node/onnxruntime-web/package-lock.json": "68789a7d3fe67eeb7dda4561eb854a5d19e2a8fa6443a4e3d96dea1127b667b1",
    "node/onnxruntime-web/package.json": "efb1a8f576314c02e561090c7cd4c591427e8addb8c60ab8235323e4f0974ffd",
    "node/run.js": "8d79488976d9c916014665f02df33419262abaa554c259e5976e8d382ed33286",
    "node/tfjs-node/package-lock.json": "c72f3fa345cbb52a82afed4fd014c9015f58f80edab8d60c5bd61f3c3a96d8d6",
    "node/tfjs-node/package.json": "168ad6e75bd101c98a5eba7b5aaf01d9fc47a83c3ed0208eedbb6fc970742958",
    "node/tfjs-wasm/package-lock.json": "bd27db050fcf1898f344c2689bb769d3c560dd7c9734584341ca1d7d1d00f170",
    "node/tfjs-wasm/package.json": "5fa5c5ba53e8118ffb52fe0ba8a9a8c2d304eef6cbd48ceef41ac55717eb9736",
    "web/page.html": "ab93a1ba853e31af5bbb9e7367207ebb858918c894a618b77f26b4b12731d7c3",
    "web/page.js": "c6ffec8524e8ea212a74046599deeb7a4ee9cf78a3f69eaaa9270cb6c0be55bb",
}


def files() -> list[str]:
    """Every file the jobs run or install from, by path under this folder."""
    found = [
        p
        for p in HERE.rglob("*")
        if p.is_file()
        and p.parent.name != "__pycache__"
        and p.suffix in (".js", ".html", ".json", ".lock")
        and "node_modules" not in p.parts
    ]
    return sorted(p.relative_to(HERE).as_posix() for p in found)


def actual() -> dict[str, str]:
    return {name: hashlib.sha256((HERE / name).read_bytes()).hexdigest() for name in files()}


def check() -> None:
    """Raise when a file differs from its pinned digest: its jobs would otherwise be reused as if nothing changed."""
    now = actual()
    if now != DIGESTS:
        changed = sorted(set(now) ^ set(DIGESTS) | {k for k in now if DIGESTS.get(k) not in (None, now[k])})
        raise RuntimeError(
            "experiments/outside_python/assets.py: DIGESTS is out of date for "
            f"{', '.join(changed)}; update it (tests/experiments/outside_python/test_assets.py)"
        )
