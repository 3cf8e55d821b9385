"""The book build: when a book already built from the same inputs is left as it is."""

from conftest import job
from fwbench.book import build
from fwbench.report import versions
from fwbench.report.results import Report


def digest(store, env=None, version="2026-12-01 (abc)"):
    manifest = versions.current_manifest(store, Report.load(store.root), version, {"commit": "abc", "dirty": False})
    return build.inputs_digest(manifest, env or {}, store)


def test_the_inputs_digest_follows_the_store_the_version_the_settings_and_the_kept_versions(make_store):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    first = digest(store)
    assert digest(store) == first  # nothing changed: same digest (the manifest's creation time is left out)
    assert digest(store, version="2026-12-02 (abc)") != first
    assert digest(store, env={"FWBENCH_STORE": "/elsewhere"}) != first
    assert digest(store, env={"HOME": "/elsewhere"}) == first  # only the settings the chapters read count
    versions.save(store, versions.current_manifest(store, Report.load(store.root), "v", {"commit": "abc"}))
    kept = digest(store)
    assert kept != first  # "what changed" now compares with another version
    store.write_job(job("r1", "jax", "jax.jit", "graph", 0.01))
    assert digest(store) != kept
