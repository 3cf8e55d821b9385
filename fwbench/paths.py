"""Where the project's folders are: one place, so no layer imports another just for a path."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The repository root, which is also the book's root.
REPO = PACKAGE.parent
#: Kernels, compiler caches, in-flight notebooks and build inputs that are not results.
SCRATCH = REPO / ".fwbench"
#: One folder per experiment (imported as fwbench.experiments.<name>: see fwbench/__init__.py).
EXPERIMENTS = REPO / "experiments"
#: The default results store (FWBENCH_STORE overrides it).
RESULTS = REPO / "results"
#: Bundles of the reference machines, committed with the project.
REFERENCE = REPO / "reference"
#: Profiles by name (`--profile quick` is profiles/quick.yml).
PROFILES = REPO / "profiles"
