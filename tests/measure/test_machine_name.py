"""Machines are named by their hardware for the book; a chosen label wins; hostile fingerprints stay plain text."""

import os

from conftest import manifest
from fwbench.measure.fingerprint import collect
from fwbench.measure.machine_name import display_name, hardware_name
from fwbench.report.results import distinct_labels
from fwbench.store.store import Run

H100_BOX = {
    "architecture": "x86_64",
    "cpu_model": "Intel(R) Xeon(R) Processor",
    "logical_cpus": 16,
    "usable_cpus": 16,
    "gpus": [{"driver": "580.159.04", "memory": "81559 MiB", "name": "NVIDIA H100 80GB HBM3"}],
}
CPU_VM = {"cpu_model": "AMD EPYC", "gpus": [], "logical_cpus": 2, "usable_cpus": 2, "virtual": True}


def test_names_say_what_the_machine_is():
    assert hardware_name(H100_BOX) == "H100 80GB, 16 CPU Intel Xeon"
    assert hardware_name(CPU_VM) == "2 vCPU AMD EPYC VM"
    laptop = {
        "cpu_model": "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz",
        "usable_cpus": 12,
        "gpus": [{"name": "NVIDIA GeForce RTX 2070", "memory": "8192 MiB"}] * 2,
    }
    assert hardware_name(laptop) == "2x RTX 2070 8GB, 12 CPU Intel Core i7-9750H"


def test_hostile_fingerprints_become_plain_text():
    name = hardware_name(
        {"cpu_model": "<img src=x onerror=alert(1)>", "usable_cpus": 2, "gpus": [{"name": "<script>alert(1)</script>"}]}
    )
    assert "<" not in name and ">" not in name and "=" not in name and '"' not in name


def _run(label, source, hw, machine_id):
    m = manifest("r-" + machine_id, machine_id=machine_id, label=label)
    m["fingerprint"] = {**m["fingerprint"], "machine_label_source": source, "hardware": hw}
    return Run(path=None, manifest=m, jobs=[])


def test_the_book_uses_the_chosen_label_else_the_hardware_never_the_host_name():
    assert display_name(_run("vm", "hardware", CPU_VM, "a").manifest) == "2 vCPU AMD EPYC VM"
    old = _run("vm", None, H100_BOX, "b").manifest  # runs stored before labels had a source
    del old["fingerprint"]["machine_label_source"]
    assert display_name(old) == "H100 80GB, 16 CPU Intel Xeon"
    assert display_name(_run("lab box 3", "profile", CPU_VM, "c").manifest) == "lab box 3"
    runs = [
        _run("vm", "hardware", CPU_VM, "amd-1"),
        _run("vm", "hardware", CPU_VM, "amd-2"),
        _run("vm", "hardware", H100_BOX, "xeon-1"),
    ]
    distinct_labels(runs)  # two machines of one kind stay apart
    assert [r.manifest["machine_label"] for r in runs] == [
        "2 vCPU AMD EPYC VM [amd-1]",
        "2 vCPU AMD EPYC VM [amd-2]",
        "H100 80GB, 16 CPU Intel Xeon",
    ]


def test_one_machine_under_two_profiles_is_two_labels_each_naming_its_profile():
    """A quick first look beside the full profile's reference of the same hardware: never pooled into one."""
    quick, full = _run("vm", "hardware", CPU_VM, "amd-1"), _run("vm", "hardware", CPU_VM, "amd-1")
    full.manifest["profile"] = {**full.manifest["profile"], "name": "full"}
    quick.manifest["profile"] = {**quick.manifest["profile"], "name": "quick"}
    other = _run("vm", "hardware", H100_BOX, "xeon-1")
    distinct_labels([quick, full, other])
    assert [r.manifest["machine_label"] for r in (quick, full, other)] == [
        "2 vCPU AMD EPYC VM (quick profile)",
        "2 vCPU AMD EPYC VM (full profile)",
        "H100 80GB, 16 CPU Intel Xeon",  # one profile: its label says nothing of it
    ]


def test_this_machine_is_named_from_its_hardware_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("FWBENCH_MACHINE_LABEL", raising=False)
    fp = collect()
    assert fp["machine_label_source"] == "hardware"
    assert fp["machine_label"] == hardware_name(fp["hardware"]) and str(os.cpu_count()) in fp["machine_label"]
    monkeypatch.setenv("FWBENCH_MACHINE_LABEL", "my <b>box</b>")
    fp = collect()
    assert (fp["machine_label"], fp["machine_label_source"]) == ("my -b-box-/b-", "env")
