"""The two test tiers: what `make test` (CI, on every change) runs, and what only `make test-all` (nightly) adds.

`make test` must stay within minutes on a 2-core machine that starts clean (cold compiler caches): a test that
repeats, for another framework, workload or experiment, what a cheaper test in `make test` already runs through the
same code belongs to the full tier only. It is marked `extended` (a whole test or module, or one parameter set
through `full_only` / `tiered`). The full tier is every test; the nightly workflow runs it
(`.github/workflows/nightly.yml`, job `tests`).

`make test` keeps: every module's own tests; each experiment's real-framework tests for at least one framework; the
three frameworks' adapters on the dense and the recurrent workloads with every variant (torch.compile included); a
new experiment's whole path (plan, papermill, store, export, book); the runner's kill-and-resume checks; one Ray
cluster profile. The full tier adds: the end-to-end smoke profile through every experiment, framework and page
(tests/test_integration.py, about 20 minutes of this 2-core machine on its own); the conv and attention workloads
and their stacked forms; the costlier frameworks' copies of the experiments' tests; the job-key check of every
experiment folder beyond eager_vs_graph; the Ray cluster's node failures.
"""

from __future__ import annotations

import pytest

#: A whole test (or module, as `pytestmark`) of the full tier only.
EXTENDED = pytest.mark.extended


def full_only(*values, id: str | None = None):
    """One parameter set of a parametrized test, run in the full tier only (its test id is unchanged)."""
    return pytest.param(*values, marks=EXTENDED, id=id)


def tiered(cases, in_ci):
    """`cases` as parameters, each one for which `in_ci(case)` is false marked for the full tier only."""
    out = []
    for case in cases:
        values = case if isinstance(case, tuple) else (case,)
        out.append(pytest.param(*values) if in_ci(case) else full_only(*values))
    return out
