"""The synthetic dataset: the same records from the same seed, every format written once and read back whole."""

import numpy as np
import pytest

from fwbench.experiments.input_pipeline import dataset

SPEC = dataset.DataSpec(samples=40, height=8, width=8, classes=5, shards=3, seed=7)


def test_records_come_from_the_seed_alone():
    a, b = dataset.generate(SPEC), dataset.generate(SPEC)
    assert a.shape == (40, 1 + 8 * 8 * 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, dataset.generate(dataset.DataSpec(40, 8, 8, 5, 3, seed=8)))
    assert set(a[:, 0]) <= set(range(5))
    assert sum(SPEC.shard_sizes()) == 40 and SPEC.shard_sizes() == [14, 13, 13]


@pytest.mark.parametrize("fmt", ["npy-shards", "files", "arrayrecord"])
def test_each_format_is_written_once_and_holds_every_record(tmp_path, fmt):
    assert dataset.ensure(SPEC, fmt, tmp_path) is True
    assert dataset.ensure(SPEC, fmt, tmp_path) is False  # complete: left as it is
    files = dataset.files_of(SPEC, fmt, tmp_path)
    want = dataset.generate(SPEC)
    if fmt == "npy-shards":
        got = np.concatenate([np.load(f) for f in files])
    elif fmt == "files":
        assert len(files) == 40
        got = np.stack([np.concatenate([[int(f.parent.name)], np.load(f).ravel()]) for f in files]).astype(np.uint8)
    else:
        from array_record.python.array_record_module import ArrayRecordReader

        rows = []
        for f in files:
            reader = ArrayRecordReader(str(f))
            rows += [np.frombuffer(r, np.uint8) for r in reader.read_all()]
            reader.close()
        got = np.stack(rows)
    assert np.array_equal(got, want)
    assert not list((tmp_path / SPEC.digest).glob(".*"))  # no temporary folder left


def test_a_killed_write_leaves_nothing_a_later_job_trusts(tmp_path, monkeypatch):
    def broken(spec, records, out):
        (out / "half").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setitem(dataset.WRITERS, "files", broken)
    with pytest.raises(KeyboardInterrupt):
        dataset.ensure(SPEC, "files", tmp_path)
    assert not (tmp_path / SPEC.digest / "files").exists() and not list((tmp_path / SPEC.digest).glob(".*"))


def test_expected_statistics_are_the_centre_crops_normalised():
    want = dataset.expected(SPEC, crop=4)
    records = dataset.generate(SPEC)
    assert want["label_counts"] == np.bincount(records[:, 0], minlength=5).tolist()
    x = records[:, 1:].reshape(-1, 8, 8, 3)[:, 2:6, 2:6] / 255.0
    x = (x - np.array(dataset.MEAN)) / np.array(dataset.STD)
    assert want["pixel_mean"] == pytest.approx(x.mean(), rel=1e-12)


def test_page_cache_states(tmp_path):
    dataset.ensure(SPEC, "npy-shards", tmp_path)
    files = dataset.files_of(SPEC, "npy-shards", tmp_path)
    size = sum(f.stat().st_size for f in files)
    assert dataset.page_cache(files, "warm") == size == dataset.page_cache(files, "cold")
    with pytest.raises(ValueError, match="warm' or 'cold"):
        dataset.page_cache(files, "lukewarm")
