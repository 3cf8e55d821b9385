"""fwbench.report.by_machine on synthetic stored runs whose verdicts are known by construction: one machine under two
profiles that agree on some claims and are built to disagree on one, and a second machine."""

from conftest import manifest
from fwbench.report import by_machine
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report, escape
from fwbench.report.sanitize import md
from fwbench.store.store import Store
from synthetic.eager_vs_graph import evg_runs

FAST = {
    ("torch", "eager"): 0.010,
    ("torch", "torch.compile"): 0.005,
    ("tensorflow", "eager"): 0.013,
    ("tensorflow", "tf.function"): 0.010,
    ("jax", "eager"): 0.030,
    ("jax", "jax.jit"): 0.004,
}
# The same, but TensorFlow's eager steps as fast as PyTorch's: E2 ("PyTorch eager a little faster") contradicted.
EVEN = {**FAST, ("tensorflow", "eager"): 0.010}


def _store(tmp_path, runs) -> Report:
    """runs: (run_id, machine_id, label, profile, times)."""
    store = Store(tmp_path / "store")
    for run_id, machine_id, label, profile, times in runs:
        store.write_manifest(manifest(run_id, machine_id=machine_id, label=label, profile=profile))
        for w in ("mlp", "cnn"):
            for doc in evg_runs(run_id, times, workload=w):
                store.write_job(doc)
    return Report.load(store.root)


def test_each_machine_and_profile_gets_its_own_verdicts_and_a_disagreement_is_named(tmp_path):
    report = _store(
        tmp_path,
        [
            ("20260101T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "quick", FAST),
            ("20260102T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "full", EVEN),
            ("20260103T000000Z-gpu", "gpu-box-2", "GPU box", "full", FAST),
        ],
    )
    table = by_machine.verdicts_by_machine(report)
    labels = set(table["machine_label"])
    assert labels == {"2 vCPU VM (quick profile)", "2 vCPU VM (full profile)", "GPU box"}
    timed = [c for c in load_claims() if c.experiment]
    assert len(table) == 3 * len(timed)
    # Each column is the verdict of that label's runs alone, as the pooled rules would give on a store of them only.
    alone = {c.id: verdict_for(c, by_machine.machine_report(report, "2 vCPU VM (full profile)")).verdict for c in timed}
    full = table[table["machine_label"] == "2 vCPU VM (full profile)"].set_index("claim")["verdict"].to_dict()
    assert full == alone
    assert full["E2"] == "contradicted" and full["E4"] == "supported"
    quick = table[table["machine_label"] == "2 vCPU VM (quick profile)"].set_index("claim")
    assert quick.loc["E2", "verdict"] == "supported" and quick.loc["E2", "votes"] == "4/0/0"
    # Only the one machine's two profiles are compared, and only where both decide.
    found = by_machine.disagreements(table)
    assert [(d.claim, d.machine_id) for d in found] == [("E2", "vm-cpu-1")]
    assert found[0].verdicts == {"2 vCPU VM (quick profile)": "supported", "2 vCPU VM (full profile)": "contradicted"}
    line = by_machine.agreement_line(table)
    assert "1 differs" in line and f"E2: **contradicted** ({md('2 vCPU VM (full profile)')}, votes 0/4/0)" in line
    assert "GPU box" not in line  # one profile there: nothing to compare
    page = by_machine.html(table)
    assert page.count("<tr>") == 1 + len(timed) and "verdict-contradicted" in page
    assert "votes 4/0/0" in page  # the votes behind a verdict, on hover
    # Every column names its profile once: in the label where one machine ran two, else under it.
    assert "<th>GPU box<br><span class='fwbench-profile'>full profile</span></th>" in page
    assert f"<th>{escape('2 vCPU VM (full profile)')}</th>" in page


def test_profiles_that_agree_say_so_and_inconclusive_is_no_disagreement(tmp_path):
    report = _store(
        tmp_path,
        [
            ("20260101T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "quick", FAST),
            ("20260102T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "full", FAST),
        ],
    )
    table = by_machine.verdicts_by_machine(report)
    assert by_machine.disagreements(table) == []
    decided = table[table["verdict"].isin(by_machine.DECIDED)]
    both = decided.groupby("claim").size()
    assert f"the {int((both == 2).sum())} claims both decide are decided alike" in by_machine.agreement_line(table)
    # A claim one side cannot decide is not a disagreement, whatever the other side says.
    t2 = table.copy()
    t2.loc[(t2["claim"] == "E1") & (t2["profile"] == "quick"), "verdict"] = "inconclusive"
    assert by_machine.disagreements(t2) == []


def test_one_machine_one_profile_has_nothing_to_compare(tmp_path):
    report = _store(tmp_path, [("20260101T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "quick", FAST)])
    table = by_machine.verdicts_by_machine(report)
    assert set(table["machine_label"]) == {"2 vCPU VM"} and by_machine.agreement_line(table) == ""


def test_two_profiles_that_decide_nothing_in_common_say_nothing(tmp_path):
    report = _store(
        tmp_path,
        [
            ("20260101T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "quick", FAST),
            ("20260102T000000Z-vm", "vm-cpu-1", "2 vCPU VM", "full", FAST),
        ],
    )
    table = by_machine.verdicts_by_machine(report)
    table.loc[table["profile"] == "full", "verdict"] = "inconclusive"
    assert by_machine.agreement_line(table) == ""  # nothing to compare: nothing said
