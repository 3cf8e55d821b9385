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


def test_an_appendix_page_no_longer_staged_loses_every_file_earlier_builds_wrote_for_it(tmp_path):
    rel = build.APPENDIX_RUNS.relative_to(build.REPO)
    kept, gone = (f"m-eager_vs_graph-jax-cpu-mlp-eager_jax.jit-3465ae-p{p}" for p in (0, 1))
    names = {"html": ["{}.html"], "html/_sources": ["{}.ipynb", "{}.ipynb.txt"], "jupyter_execute": ["{}.ipynb"],
             ".doctrees": ["{}.doctree"], "singlehtml": ["{}.html"]}
    for folder, patterns in names.items():
        where = tmp_path / folder / rel
        where.mkdir(parents=True)
        for pattern in patterns:
            for page in (kept, gone):
                (where / pattern.format(page)).write_text("x")
    (tmp_path / "html" / rel / "figure_0_1.png").write_text("x")  # not named after a page: not the build's to judge
    removed = build.remove_stale_appendix(tmp_path, {kept})
    assert sorted(p.name for p in removed) == sorted(p.format(gone) for ps in names.values() for p in ps)
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([p.format(kept) for ps in names.values() for p in ps] + ["figure_0_1.png"])
    assert build.remove_stale_appendix(tmp_path / "nothing-built-yet", {kept}) == []
