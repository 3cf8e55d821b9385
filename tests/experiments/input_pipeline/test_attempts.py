"""Pipeline attempts read straight from stored jobs (no report): every process, and which of them P1 may read."""

from fwbench.experiments.input_pipeline import attempts


def test_attempts_from_stored_jobs_and_the_processes_p1_may_read(ip_job):
    jobs = [
        ip_job("r1", "tensorflow", {("npy-shards", 2): 0.5}, processes=3, busy={("npy-shards", 2): (1,)}),
        ip_job("r1", "torch", {("npy-shards", 2): 1.0, ("files", 2): 1.0}, processes=2, bad_labels="files"),
    ]
    att = attempts.attempt_rows(("box", "r1", job) for job in jobs)
    assert len(att) == 3 + 4 and set(att["machine_label"]) == {"box"}
    assert set(att[att["framework"] == "torch"]["kind"]) == {"common", "own"}
    good = attempts.usable(att)
    # The busy TensorFlow process and the torch format whose labels were wrong are not timed against the others.
    assert sorted(good[good["framework"] == "tensorflow"]["process"]) == [0, 2]
    assert set(good[good["framework"] == "torch"]["format"]) == {"npy-shards"}
    assert len(attempts.per_process(good[good["framework"] == "tensorflow"])) == 2
