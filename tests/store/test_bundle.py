"""Bundles: pack a machine's runs, import them idempotently, and refuse every damaged or hostile archive untouched."""

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest

from conftest import job, manifest
from fwbench.store.bundle import INDEX, import_bundle, imported_runs, pack, run_digest
from fwbench.errors import BundleError
from fwbench.run.runner import reusable_results
from fwbench.store.store import Store

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
    return _store(tmp_path / "a", [("20260101T000000Z-m1", "m1-cpu-11111111", "box one"),
                                   ("20260102T000000Z-m1", "m1-cpu-11111111", "box one"),
                                   ("20260101T000000Z-m2", "m2-gpu-22222222", "box two")])


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


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


def _rewrite(bundle: Path, out: Path, edit, added=()) -> Path:
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


def _reindex(name, data, target, new_data):
    """Replace `target`'s bytes and fix its checksum in the index, so only deeper checks can catch it."""
    if name == target:
        return name, new_data
    if name == INDEX:
        index = json.loads(data)
        run, rel = target.split("/", 2)[1:]
        index["runs"][run]["files"][rel] = {"sha256": hashlib.sha256(new_data).hexdigest(), "bytes": len(new_data)}
        return name, json.dumps(index).encode()
    return name, data


JOB = "runs/20260101T000000Z-m1/jobs/eager_vs_graph-torch-cpu-mlp-eager-p0.json"
NB = "runs/20260101T000000Z-m1/notebooks/eager_vs_graph-torch-cpu-mlp-eager-p0.ipynb"


def _bad_bundles(good: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    data = good.read_bytes()
    bad_job = json.dumps({**json.loads(_member(good, JOB)), "status": "exploded"}).encode()
    cases = {
        "not a bundle": (tmp / "junk.fwbundle", "not an fwbench bundle"),
        "truncated": (tmp / "cut.fwbundle", "truncated"),
        "checksum": (_rewrite(good, tmp / "sum.fwbundle", lambda n, d: (n, d.replace(b"eager", b"eagre"))
                              if n == JOB else (n, d)), "fails its checksum"),
        "missing member": (_rewrite(good, tmp / "miss.fwbundle", lambda n, d: None if n == JOB else (n, d)),
                           "listed but missing"),
        "escaping path": (_rewrite(good, tmp / "esc.fwbundle", lambda n, d: ("runs/../../evil.json", d)
                                   if n == JOB else (n, d)), "not a path a bundle may hold"),
        "pickle": (_rewrite(good, tmp / "pkl.fwbundle", lambda n, d: ("runs/20260101T000000Z-m1/artifacts/m.pt", d)
                            if n == JOB else (n, d)), "not a path a bundle may hold"),
        "schema": (_rewrite(good, tmp / "schema.fwbundle", lambda n, d: _reindex(n, d, JOB, bad_job)), "status"),
        "notebook": (_rewrite(good, tmp / "nb.fwbundle", lambda n, d: _reindex(n, d, NB, b'{"cells": 3}')),
                     "not a valid notebook"),
    }
    man = "runs/20260101T000000Z-m1/manifest.json"
    evil_label = json.loads(_member(good, man))
    evil_label["machine_label"] = "<img src=x onerror=\"document.title='PWNED'\">"
    evil_version = json.loads(_member(good, JOB))
    evil_version["framework_version"] = "2.0<script>document.title='PWNED'</script>"
    log = "runs/20260101T000000Z-m1/logs/eager_vs_graph-torch-cpu-mlp-eager-p0.log"
    cases.update({
        "hostile machine label": (_rewrite(good, tmp / "label.fwbundle", lambda n, d: _reindex(
            n, d, man, json.dumps(evil_label).encode())), "machine_label .* is not a plain name"),
        "hostile framework version": (_rewrite(good, tmp / "version.fwbundle", lambda n, d: _reindex(
            n, d, JOB, json.dumps(evil_version).encode())), "framework_version .* is not a plain name"),
        # Nine 250 MiB logs once filled a store from a 2.4 MB bundle: a log's size is capped from its header.
        "oversized log": (_rewrite(good, tmp / "big.fwbundle", lambda n, d: _reindex(n, d, log, b"\0" * (17 * 2**20))),
                          "at most .* are allowed for its kind"),
        "unlisted member": (_rewrite(good, tmp / "extra.fwbundle", lambda n, d: (n, d) if n != log else
                                     ("runs/20260101T000000Z-m1/logs/other.log", d)), "not in the bundle's index"),
        "dot run id": (_rewrite(good, tmp / "dot.fwbundle", lambda n, d: _dot_run(n, d)), "not an id"),
    })
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


def _member(bundle: Path, name: str) -> bytes:
    with tarfile.open(bundle) as tar:
        return tar.extractfile(name).read()


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
    assert all(r.manifest["fingerprint"]["hardware"]["gpus"] for r in runs)  # the H100 machine
    assert import_references(store) == []  # idempotent: nothing new the second time
