"""Bundles: pack a machine's runs, import them idempotently, and refuse every damaged or hostile archive untouched."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest

from conftest import job, manifest
from fwbench.errors import BundleError
from fwbench.run.runner import reusable_results
from fwbench.store.bundle import INDEX, import_bundle, imported_runs, pack, run_digest
from fwbench.store.store import Store
from hostile import member as _member
from hostile import reindex as _reindex
from hostile import rewrite as _rewrite

REPO = Path(__file__).resolve().parents[2]


def _store(root: Path, runs) -> Store:
    store = Store(root)
    for run_id, machine, label in runs:
        store.write_manifest(manifest(run_id, machine_id=machine, label=label))
        for fw in ("torch", "jax"):
            store.write_job(job(run_id, fw, "eager", "eager", 0.01))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        (store.run_dir(run_id) / "notebooks").mkdir(exist_ok=True)
        nbformat.write(nb, store.run_dir(run_id) / "notebooks" / "eager_vs_graph-torch-cpu-mlp-eager-p0.ipynb")
        (store.run_dir(run_id) / "logs").mkdir(exist_ok=True)
        (store.run_dir(run_id) / "logs" / "eager_vs_graph-torch-cpu-mlp-eager-p0.log").write_text("chatter\n")
        (store.run_dir(run_id) / "artifacts").mkdir(exist_ok=True)
        (store.run_dir(run_id) / "artifacts" / "model.pt").write_bytes(b"\x80\x04pickle")
    return store


@pytest.fixture
def source(tmp_path):
    return _store(
        tmp_path / "a",
        [
            ("20260101T000000Z-m1", "m1-cpu-11111111", "box one"),
            ("20260102T000000Z-m1", "m1-cpu-11111111", "box one"),
            ("20260101T000000Z-m2", "m2-gpu-22222222", "box two"),
        ],
    )


def snapshot(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_pack_holds_one_machine_as_data_only(source, tmp_path):
    out = tmp_path / "m1.fwbundle"
    index = pack(source, out, ["m1-cpu-11111111"])
    assert sorted(index["runs"]) == ["20260101T000000Z-m1", "20260102T000000Z-m1"]
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert names[0] == INDEX and not any("artifacts" in n or n.endswith(".pt") for n in names)
    assert "runs/20260101T000000Z-m1/notebooks/eager_vs_graph-torch-cpu-mlp-eager-p0.ipynb" in names
    again = tmp_path / "again.fwbundle"
    pack(source, again, ["m1-cpu-11111111"])
    assert again.read_bytes() == out.read_bytes()  # deterministic: same runs, same bytes


def test_import_adds_runs_then_changes_nothing(source, tmp_path):
    bundle = tmp_path / "m1.fwbundle"
    pack(source, bundle, ["m1-cpu-11111111"])
    dest = _store(tmp_path / "b", [("20260105T000000Z-m3", "m3-cpu-33333333", "mine")])
    first = import_bundle(dest, bundle)
    assert sorted(first.added) == ["20260101T000000Z-m1", "20260102T000000Z-m1"] and first.jobs == 4
    for rid in first.added:
        assert run_digest(dest.run_dir(rid)) == run_digest(source.run_dir(rid))
    runs, problems = dest.load()
    assert not problems and len(runs) == 3
    assert set(imported_runs(dest)) == set(first.added)
    before = snapshot(dest.root)
    second = import_bundle(dest, bundle)
    assert second.added == [] and len(second.present) == 2
    assert snapshot(dest.root) == before


def test_imported_runs_are_never_reused_by_the_runner(source, tmp_path):
    bundle = tmp_path / "m1.fwbundle"
    pack(source, bundle, ["m1-cpu-11111111"])
    dest = Store(tmp_path / "b")
    import_bundle(dest, bundle)
    runs, _ = dest.load()
    assert reusable_results(runs, imported_runs(dest)) == {}
    assert len(reusable_results(runs, {})) == 4


JOB = "runs/20260101T000000Z-m1/jobs/eager_vs_graph-torch-cpu-mlp-eager-p0.json"
NB = "runs/20260101T000000Z-m1/notebooks/eager_vs_graph-torch-cpu-mlp-eager-p0.ipynb"


def _bad_bundles(good: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    data = good.read_bytes()
    bad_job = json.dumps({**json.loads(_member(good, JOB)), "status": "exploded"}).encode()
    cases = {
        "not a bundle": (tmp / "junk.fwbundle", "not an fwbench bundle"),
        "truncated": (tmp / "cut.fwbundle", "truncated"),
        "checksum": (
            _rewrite(
                good, tmp / "sum.fwbundle", lambda n, d: (n, d.replace(b"eager", b"eagre")) if n == JOB else (n, d)
            ),
            "fails its checksum",
        ),
        "missing member": (
            _rewrite(good, tmp / "miss.fwbundle", lambda n, d: None if n == JOB else (n, d)),
            "listed but missing",
        ),
        "escaping path": (
            _rewrite(good, tmp / "esc.fwbundle", lambda n, d: ("runs/../../evil.json", d) if n == JOB else (n, d)),
            "not a path a bundle may hold",
        ),
        "pickle": (
            _rewrite(
                good,
                tmp / "pkl.fwbundle",
                lambda n, d: ("runs/20260101T000000Z-m1/artifacts/m.pt", d) if n == JOB else (n, d),
            ),
            "not a path a bundle may hold",
        ),
        "schema": (_rewrite(good, tmp / "schema.fwbundle", lambda n, d: _reindex(n, d, JOB, bad_job)), "status"),
        "notebook": (
            _rewrite(good, tmp / "nb.fwbundle", lambda n, d: _reindex(n, d, NB, b'{"cells": 3}')),
            "not a valid notebook",
        ),
    }
    man = "runs/20260101T000000Z-m1/manifest.json"
    evil_label = json.loads(_member(good, man))
    evil_label["machine_label"] = "<img src=x onerror=\"document.title='PWNED'\">"
    evil_version = json.loads(_member(good, JOB))
    evil_version["framework_version"] = "2.0<script>document.title='PWNED'</script>"
    log = "runs/20260101T000000Z-m1/logs/eager_vs_graph-torch-cpu-mlp-eager-p0.log"
    cases.update(
        {
            "hostile machine label": (
                _rewrite(
                    good, tmp / "label.fwbundle", lambda n, d: _reindex(n, d, man, json.dumps(evil_label).encode())
                ),
                "machine_label.* is not a plain name",
            ),
            "hostile framework version": (
                _rewrite(
                    good, tmp / "version.fwbundle", lambda n, d: _reindex(n, d, JOB, json.dumps(evil_version).encode())
                ),
                "framework_version.* is not a plain name",
            ),
            # Nine 250 MiB logs once filled a store from a 2.4 MB bundle: a log's size is capped from its header.
            "oversized log": (
                _rewrite(good, tmp / "big.fwbundle", lambda n, d: _reindex(n, d, log, b"\0" * (17 * 2**20))),
                "at most .* are allowed for its kind",
            ),
            "unlisted member": (
                _rewrite(
                    good,
                    tmp / "extra.fwbundle",
                    lambda n, d: (n, d) if n != log else ("runs/20260101T000000Z-m1/logs/other.log", d),
                ),
                "not in the bundle's index",
            ),
            "dot run id": (_rewrite(good, tmp / "dot.fwbundle", lambda n, d: _dot_run(n, d)), "not an id"),
        }
    )
    (tmp / "junk.fwbundle").write_bytes(b"\x80\x04\x95pickle, not a bundle")
    (tmp / "cut.fwbundle").write_bytes(data[: len(data) // 2])
    return cases


def _dot_run(name, data):
    """An index that lists a run called '.' (its members keep their paths)."""
    if name != INDEX:
        return name, data
    index = json.loads(data)
    index["runs"]["."] = {"machine_id": "m1-cpu-11111111", "files": {}}
    return name, json.dumps(index).encode()


def test_damaged_bundles_are_refused_and_the_store_is_untouched(source, tmp_path):
    good = tmp_path / "m1.fwbundle"
    pack(source, good, ["m1-cpu-11111111"])
    dest = _store(tmp_path / "b", [("20260105T000000Z-m3", "m3-cpu-33333333", "mine")])
    before = snapshot(dest.root)
    for what, (path, message) in _bad_bundles(good, tmp_path).items():
        with pytest.raises(BundleError, match=message):
            import_bundle(dest, path)
        assert snapshot(dest.root) == before, what
    assert not (dest.root / "evil.json").exists() and not list(dest.runs_dir.glob(".import-*"))


def test_import_streams_members_instead_of_holding_them(source, tmp_path, monkeypatch):
    # Eight 15 MiB logs (each within its kind's limit): the import's Python heap must stay far below their
    # 120 MiB, and its scratch files, outside the store, must be gone afterwards.
    import tempfile
    import tracemalloc

    log = "runs/20260101T000000Z-m1/logs/eager_vs_graph-torch-cpu-mlp-eager-p0.log"
    big = b"x" * (15 * 2**20)
    plain = tmp_path / "m1.fwbundle"
    pack(source, plain, ["m1-cpu-11111111"])
    extra = [f"runs/20260101T000000Z-m1/logs/extra-{k}.log" for k in range(7)]

    def edit(name, data):
        for target in [log, *extra]:
            name, data = _reindex(name, data, target, big)
        return name, data

    bundle = _rewrite(plain, tmp_path / "big.fwbundle", edit, added=[(name, big) for name in extra])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    dest = Store(tmp_path / "b")
    tracemalloc.start()
    try:
        result = import_bundle(dest, bundle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "20260101T000000Z-m1" in result.added
    assert (dest.run_dir("20260101T000000Z-m1") / "logs" / "extra-6.log").stat().st_size == len(big)
    assert peak < 16 * 2**20, f"import held {peak / 2**20:.0f} MiB at once"
    assert list(scratch.iterdir()) == []


def test_conflicting_run_is_refused_whole(source, tmp_path):
    good = tmp_path / "m1.fwbundle"
    pack(source, good, ["m1-cpu-11111111"])
    dest = Store(tmp_path / "b")
    dest.write_manifest(manifest("20260102T000000Z-m1", machine_id="m1-cpu-11111111", label="box one"))
    before = snapshot(dest.root)
    with pytest.raises(BundleError, match="conflicts with the stored run"):
        import_bundle(dest, good)
    assert snapshot(dest.root) == before  # the other, new run was not imported either


def cli(*args):
    return subprocess.run([sys.executable, "-m", "fwbench", *args], capture_output=True, text=True, cwd=REPO)


def test_cli_bundle_and_import(source, tmp_path):
    out = tmp_path / "two.fwbundle"
    res = cli("--store", str(source.root), "bundle", "-o", str(out), "--machine", "m2-gpu-22222222")
    assert res.returncode == 0, res.stderr
    assert "bundled 1 run(s) (2 jobs) of box two" in res.stdout
    dest = tmp_path / "b"
    res = cli("--store", str(dest), "import", str(out))
    assert res.returncode == 0 and "imported 1 run(s) (2 jobs)" in res.stdout, res.stderr
    res = cli("--store", str(dest), "import", str(out))
    assert res.returncode == 0 and "imported 0 run(s)" in res.stdout and "1 already present" in res.stdout
    junk = tmp_path / "junk.fwbundle"
    junk.write_text("hello")
    res = cli("--store", str(dest), "import", str(junk))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not an fwbench bundle" in res.stderr
    res = cli("--store", str(source.root), "bundle", "-o", str(tmp_path / "x.fwbundle"), "--machine", "nope")
    assert res.returncode == 2 and "no runs of machine nope" in res.stderr


def test_committed_reference_bundles_import_cleanly(tmp_path):
    from fwbench.store.bundle import REFERENCE_DIR, import_references

    bundles = sorted(REFERENCE_DIR.glob("*.fwbundle"))
    assert bundles, "the repository ships at least one reference bundle"
    store = Store(tmp_path / "store")
    lines = import_references(store)
    assert len(lines) == len(bundles)
    runs, problems = store.load()
    assert not problems and runs
    # Each bundle's runs are there, the H100 machine's among them.
    assert len({r.manifest["machine_id"] for r in runs}) >= len(bundles)
    assert any(r.manifest["fingerprint"]["hardware"]["gpus"] for r in runs)
    assert import_references(store) == []  # idempotent: nothing new the second time


def _long_name_bundle(good: Path, out: Path, size: int) -> Path:
    """`good` with a GNU long-name header announcing `size` bytes of name (zeros: they compress to almost nothing)."""
    import zlib

    raw = io.BytesIO()
    with tarfile.open(good) as src, tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as dst:
        for info in src:
            data = src.extractfile(info).read()
            new = tarfile.TarInfo(info.name)
            new.size = len(data)
            dst.addfile(new, io.BytesIO(data))
    body = raw.getvalue().rstrip(b"\0")
    body += b"\0" * (-len(body) % 512)
    header = tarfile.TarInfo("././@LongLink")
    header.type, header.size = tarfile.GNUTYPE_LONGNAME, size
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip, streamed: the header's data is never built in memory
    with open(out, "wb") as fh:
        fh.write(comp.compress(body + header.tobuf(format=tarfile.GNU_FORMAT)))
        zeros = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            fh.write(comp.compress(zeros))
        fh.write(comp.compress(b"\0" * (-size % 512 + (size & ((1 << 20) - 1)))))
        fh.write(comp.compress(b"\0" * 1024) + comp.flush())
    return out


def test_an_oversized_long_name_header_is_refused_before_it_is_read(source, tmp_path):
    """The probe held a 2.5 GiB long name: tarfile reads such a header whole. Here 600 MiB, in a fresh process
    whose peak memory is read from the kernel: it must stay under 200 MB."""
    good = tmp_path / "m1.fwbundle"
    pack(source, good, ["m1-cpu-11111111"])
    bundle = _long_name_bundle(good, tmp_path / "longname.fwbundle", 600 * 2**20)
    assert bundle.stat().st_size < 5 * 2**20
    # The peak is VmHWM, this process's own high-water mark: ru_maxrss would carry the forking test process's.
    script = (
        "import re, sys\nfrom fwbench.store.bundle import import_bundle\nfrom fwbench.store.store import Store\n"
        "from fwbench.errors import BundleError\n"
        "try:\n    import_bundle(Store(sys.argv[2]), sys.argv[1])\nexcept BundleError as exc:\n    print(exc)\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(bundle), str(tmp_path / "dest")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    message, peak_kib = proc.stdout.strip().splitlines()
    assert "extended header" in message and "bytes; at most" in message, proc.stdout + proc.stderr
    assert int(peak_kib) < 200 * 1000, f"peak {int(peak_kib) / 1000:.0f} MB"
    assert not (tmp_path / "dest" / "runs").exists() or not any((tmp_path / "dest" / "runs").iterdir())


def test_a_member_name_ending_in_a_newline_is_refused(source, tmp_path):
    good = tmp_path / "m1.fwbundle"
    pack(source, good, ["m1-cpu-11111111"])
    log = "runs/20260101T000000Z-m1/logs/eager_vs_graph-torch-cpu-mlp-eager-p0.log"
    bad = _rewrite(good, tmp_path / "nl.fwbundle", lambda n, d: (n + "\n", d) if n == log else (n, d))
    with pytest.raises(BundleError, match="not a path a bundle may hold"):
        import_bundle(Store(tmp_path / "dest"), bad)


def test_an_import_is_one_step_provenance_first(source, tmp_path):
    """If the import log cannot be written, no run arrives (they would count as measured here); once it can, the
    same bundle imports whole. A run present without its record is recorded again by the next import."""
    bundle = tmp_path / "m1.fwbundle"
    pack(source, bundle, ["m1-cpu-11111111"])
    dest = Store(tmp_path / "dest")
    dest.runs_dir.mkdir(parents=True)
    (dest.root / "imports.json").mkdir()  # cannot be replaced by a file: the write fails as on a full disk
    proc = cli("--store", str(dest.root), "import", str(bundle))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "imports.json" in proc.stderr, proc.stderr
    assert [p.name for p in dest.runs_dir.iterdir()] == []
    (dest.root / "imports.json").rmdir()
    first = import_bundle(dest, bundle)
    assert len(first.added) == 2 and set(imported_runs(dest)) == set(first.added)
    # An older fwbench could leave runs without their record: validate names them, the next import repairs it.
    (dest.root / "imports.json").unlink()
    proc = cli("--store", str(dest.root), "validate")
    assert "no import record" in proc.stderr and "20260101T000000Z-m1" in proc.stderr
    again = import_bundle(dest, bundle)
    assert again.added == [] and sorted(again.repaired) == sorted(first.added)
    assert set(imported_runs(dest)) == set(first.added)


def test_the_next_import_removes_scratch_a_killed_one_left(source, tmp_path, monkeypatch):
    import tempfile

    bundle = tmp_path / "m1.fwbundle"
    pack(source, bundle, ["m1-cpu-11111111"])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has ended
    stale = scratch / f"fwbench-import-{pid}-abc"
    stale.mkdir()
    (stale / "000001").write_bytes(b"x" * 1000)
    live = scratch / f"fwbench-import-{os.getpid()}-def"  # ours, alive: kept
    live.mkdir()
    dest = Store(tmp_path / "dest")
    (dest.runs_dir / ".import-killed").mkdir(parents=True)
    import_bundle(dest, bundle)
    assert not stale.exists() and live.exists() and not (dest.runs_dir / ".import-killed").exists()
