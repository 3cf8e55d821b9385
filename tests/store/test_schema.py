"""The typed schema: every probe of a hostile colleague, built from the committed reference bundle, is refused at
import with one line, and a well-typed store (the reference itself) passes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fwbench.errors import BundleError, StoreError
from fwbench.store import schema
from fwbench.store.bundle import INDEX, REFERENCE_DIR, import_bundle
from fwbench.store.store import Store, validate_job, validate_manifest
from hostile import member, reindex, rewrite

REPO = Path(__file__).resolve().parents[2]
# The H100 bundle by name: the tests below rewrite members of its runs, and other references may come and go.
REFERENCE = REFERENCE_DIR / "nvidia-h100-80gb.fwbundle"
INDEX_DOC = json.loads(member(REFERENCE, INDEX))
RUN = sorted(INDEX_DOC["runs"])[-1]
MANIFEST = f"runs/{RUN}/manifest.json"
JOB = f"runs/{RUN}/" + sorted(f for f in INDEX_DOC["runs"][RUN]["files"] if f.startswith("jobs/"))[0]


def _set(doc: dict, dotted: str, value) -> dict:
    doc = json.loads(json.dumps(doc))
    *path, last = dotted.split(".")
    here = doc
    for key in path:
        here = here[key]
    here[last] = value
    return doc


MANIFEST_PROBES = [
    ("fingerprint.hardware.memory_bytes", "lots"),
    ("fingerprint.packages", ["torch", "jax"]),
    ("started", "yesterday"),
    ("fingerprint.hardware", "big"),
    ("jobs", "all of them"),
]
JOB_PROBES = [
    ("checks", "all passed"),
    ("process", "0"),
    ("duration_s", "fast"),
    ("settings.threads", "two"),
    ("records", [{"phase": "train", "batch_size": "64", "metric": "step_time", "value": 1, "unit": "s"}]),
    ("error", "none"),
]


def _probe(tmp_path, target: str, doc: dict, name: str) -> Path:
    data = json.dumps(doc).encode()
    return rewrite(REFERENCE, tmp_path / f"{name}.fwbundle", lambda n, d: reindex(n, d, target, data))


def test_the_reference_fits_the_schema(tmp_path):
    for rel in INDEX_DOC["runs"][RUN]["files"]:
        if rel.endswith(".json"):
            doc = json.loads(member(REFERENCE, f"runs/{RUN}/{rel}"))
            assert schema.problem("run" if rel == "manifest.json" else "job", doc) is None, rel
    assert schema.problem("bundle", INDEX_DOC) is None


@pytest.mark.parametrize(
    "target, field, value", [(MANIFEST, f, v) for f, v in MANIFEST_PROBES] + [(JOB, f, v) for f, v in JOB_PROBES]
)
def test_a_wrong_typed_field_is_refused_at_import(tmp_path, target, field, value):
    bad = _set(json.loads(member(REFERENCE, target)), field, value)
    if field == "error":
        bad["status"] = "failed"
    check = validate_manifest if target == MANIFEST else validate_job
    with pytest.raises(StoreError, match=f"x.json: field {field.replace('.', '[.]')}"):
        check(bad, "x.json")
    store = Store(tmp_path / "store")
    with pytest.raises(BundleError, match=f"field {field.replace('.', '[.]')}"):
        import_bundle(store, _probe(tmp_path, target, bad, "probe"))
    assert not store.runs_dir.exists() or not any(store.runs_dir.iterdir())


def test_the_cli_refuses_a_wrong_typed_bundle_in_one_line(tmp_path):
    bad = _set(json.loads(member(REFERENCE, MANIFEST)), "fingerprint.hardware.memory_bytes", "lots")
    bundle = _probe(tmp_path, MANIFEST, bad, "lots")
    proc = subprocess.run(
        [sys.executable, "-m", "fwbench", "--store", str(tmp_path / "store"), "import", str(bundle)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "memory_bytes" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_times_numbers_and_names_are_typed_not_just_present():
    doc = json.loads(member(REFERENCE, JOB))
    assert schema.problem("job", doc) is None
    for field, value in [
        ("started", "2026-11-23 02:18"),
        ("finished", 5),
        ("duration_s", -1.0),
        ("process", True),
        ("framework", "torch\n"),
        ("job_key", "x" * 5000),
        ("samples", {"phase": "train"}),
    ]:
        assert schema.problem("job", _set(doc, field, value)) is not None, field
