"""Plain names for machines, built from their stored hardware fingerprint ("H100 80GB, 16 vCPU Intel Xeon").

Host names say nothing to a reader (`vm`, `localhost`, `ip-10-0-0-7`), so the book
names a machine by what it is. A label the user chose (FWBENCH_MACHINE_LABEL or the
profile's `machine_label`) wins. Every part comes from a stored, untrusted
fingerprint, so the result is cut down to the store's plain-name characters.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[^A-Za-z0-9 _.,:;+@()/-]")
_GPU_NOISE = re.compile(r"\b(?:NVIDIA|Tesla|GeForce|AMD|Radeon|Instinct|HBM\d?e?|PCIe|SXM\d?|NVL|Graphics)\b", re.I)
_CPU_NOISE = re.compile(r"\((?:R|TM|C)\)|\bCPU\b|\bProcessor\b|@.*$|\b\d+-Core\b|\bwith .*$", re.I)
#: Fingerprint values of `machine_label_source` meaning a person chose the label.
CHOSEN = ("env", "profile")


def _plain(text: str) -> str:
    return " ".join(_PLAIN.sub("", text).split())


def gpu_name(gpu: dict) -> str:
    name = _plain(_GPU_NOISE.sub(" ", str(gpu.get("name") or "GPU"))) or "GPU"
    # nvidia-smi reports memory as text, "81559 MiB".
    memory = re.fullmatch(r"\s*(\d+)\s*MiB\s*", str(gpu.get("memory") or ""))
    if memory and not re.search(r"\d+\s*GB", name, re.I):
        name += f" {round(int(memory.group(1)) / 1024)}GB"
    return name


def cpu_name(hw: dict) -> str:
    model = _plain(_CPU_NOISE.sub(" ", str(hw.get("cpu_model") or ""))) or "CPU"
    count = hw.get("usable_cpus") or hw.get("logical_cpus")
    kind = "vCPU" if hw.get("virtual") else "CPU"
    return f"{count} {kind} {model}" if isinstance(count, int) and count > 0 else model


def hardware_name(hw: dict) -> str:
    """'2 vCPU AMD EPYC VM' or 'H100 80GB, 16 vCPU Intel Xeon' (several GPUs: '8x H100 80GB, ...')."""
    if not isinstance(hw, dict):
        return ""
    gpus = [g for g in hw.get("gpus") or [] if isinstance(g, dict)]
    cpu = cpu_name(hw)
    if not gpus:
        return _plain(cpu + (" VM" if hw.get("virtual") else ""))[:120]
    names = [gpu_name(g) for g in gpus]
    lead = names[0] if len(set(names)) == 1 else " + ".join(sorted(set(names)))
    count = f"{len(gpus)}x " if len(gpus) > 1 and len(set(names)) == 1 else ""
    return _plain(f"{count}{lead}, {cpu}")[:120]


def display_name(manifest: dict) -> str:
    """The name the book uses for a run's machine: the chosen label, else one built from its hardware."""
    fp = manifest.get("fingerprint") if isinstance(manifest.get("fingerprint"), dict) else {}
    if fp.get("machine_label_source") in CHOSEN:
        return manifest["machine_label"]
    return hardware_name(fp.get("hardware")) or manifest["machine_label"]
