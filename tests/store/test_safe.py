"""Bounded reading: a 100,000-deep JSON file, an oversized one or a symlink is one named bad file, never a
RecursionError, a memory spike or a read of something outside the store."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import job, manifest
from fwbench.errors import BundleError, StoreError
from fwbench.store import safe
from fwbench.store.bundle import INDEX, REFERENCE_DIR, import_bundle, pack
from fwbench.store.store import Store
from hostile import member, reindex, rewrite

REPO = Path(__file__).resolve().parents[2]
DEEP = b"[" * 100_000 + b"]" * 100_000
# The H100 bundle by name: the tests below rewrite members of its runs, and other references may come and go.
REFERENCE = REFERENCE_DIR / "nvidia-h100-80gb.fwbundle"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fwbench", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_deep_nesting_nan_and_long_numbers_are_named_refusals():
    for text, words in [
        (DEEP, "nested more than"),
        (b'{"a": NaN}', "NaN"),
        (b"1" * 5000, "not valid JSON"),
        (b'{"a": ' * 70 + b"1" + b"}" * 70, "nested more than"),
    ]:
        with pytest.raises(StoreError, match=words):
            safe.loads(text, "x.json")
    assert safe.depth({"a": [1, {"b": []}]}) == 4 and safe.depth(5) == 0


def test_size_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2000 + b"{}")
    monkeypatch.setitem(safe.MAX_BYTES, "json", 1000)
    with pytest.raises(StoreError, match="at most 1000 are read"):
        safe.read_json(path)


def _store(root: Path) -> Store:
    store = Store(root)
    store.write_manifest(manifest("r1"))
    for fw in ("torch", "jax"):
        store.write_job(job("r1", fw, "eager", "eager", 0.01))
    store.write_manifest(manifest("r2"))
    store.write_job(job("r2", "torch", "eager", "eager", 0.01))
    return store


def test_a_deep_job_or_manifest_costs_only_itself(tmp_path):
    store = _store(tmp_path / "store")
    victim = sorted((store.run_dir("r1") / "jobs").glob("*.json"))[0]
    victim.write_bytes(DEEP)
    (store.run_dir("r2") / "manifest.json").write_bytes(DEEP)
    runs, problems = store.load(strict=False)
    assert [r.run_id for r in runs] == ["r1"] and len(runs[0].jobs) == 1
    assert any(victim.name in p and "nested" in p for p in problems) and any("r2" in p for p in problems)
    proc = cli("--store", str(store.root), "validate")
    assert proc.returncode == 2 and victim.name in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("--store", str(store.root), "results", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    assert proc.returncode == 0 and victim.name in proc.stderr and (tmp_path / "out.csv").stat().st_size > 0
    proc = cli("--store", str(store.root), "results", "--strict", "-o", str(tmp_path / "strict.csv"))
    assert proc.returncode == 2 and not (tmp_path / "strict.csv").exists()
    (store.root / "imports.json").write_bytes(DEEP)
    proc = cli("--store", str(store.root), "validate")
    assert proc.returncode == 2 and "imports.json" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", ["index", "manifest", "job"])
def test_a_deep_bundle_member_is_refused_in_one_line(tmp_path, target):
    index = json.loads(member(REFERENCE, INDEX))
    run = sorted(index["runs"])[0]
    name = {
        "index": INDEX,
        "manifest": f"runs/{run}/manifest.json",
        "job": f"runs/{run}/" + sorted(f for f in index["runs"][run]["files"] if f.startswith("jobs/"))[0],
    }[target]
    bundle = rewrite(
        REFERENCE,
        tmp_path / "deep.fwbundle",
        (lambda n, d: (n, DEEP if n == INDEX else d))
        if target == "index"
        else (lambda n, d: reindex(n, d, name, DEEP)),
    )
    with pytest.raises(BundleError, match="nested more than|not a bundle index"):
        import_bundle(Store(tmp_path / "s"), bundle)
    proc = cli("--store", str(tmp_path / "s2"), "import", str(bundle))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_links_are_never_followed_nor_bundled(tmp_path):
    store = _store(tmp_path / "store")
    secret = tmp_path / "secret.txt"
    secret.write_text("the maker's private key")
    logs = store.run_dir("r1") / "logs"
    logs.mkdir()
    (logs / "eager_vs_graph-torch-cpu-mlp-eager-p0.log").symlink_to(secret)
    job_file = sorted((store.run_dir("r2") / "jobs").glob("*.json"))[0]
    outside = tmp_path / "outside.json"
    outside.write_bytes(job_file.read_bytes())
    job_file.unlink()
    job_file.symlink_to(outside)
    runs, problems = store.load(strict=False)
    assert any("symbolic link" in p and job_file.name in p for p in problems)
    assert store.links() == sorted([logs / "eager_vs_graph-torch-cpu-mlp-eager-p0.log", job_file])
    proc = cli("--store", str(store.root), "validate")
    assert proc.returncode == 2 and "symbolic link" in proc.stderr and secret.name not in proc.stdout
    skipped = []
    index = pack(store, tmp_path / "b.fwbundle", ["*"], skipped)
    assert not any(rel.startswith("logs/") for rel in index["runs"]["r1"]["files"])
    assert index["runs"]["r2"]["files"] == {} or not any(r.startswith("jobs/") for r in index["runs"]["r2"]["files"])
    assert any(job_file.name in line for line in skipped)
    import gzip

    assert b"private key" not in gzip.decompress((tmp_path / "b.fwbundle").read_bytes())
    os.remove(logs / "eager_vs_graph-torch-cpu-mlp-eager-p0.log")
