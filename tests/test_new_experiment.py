"""Adding an experiment is one new folder plus a profile: it is planned, run by papermill, stored, exported and
given a chapter, with no other file of the project edited (CONTRIBUTING.md's recipe, end to end)."""

import csv
import json

import pytest

import package_copy

#: From a package copy, so independent of the end-to-end test; `make test` runs it in that test's process to even
#: out the suite's two halves (scripts/run_tests.py).
pytestmark = pytest.mark.with_slow

#: The smallest complete experiment: what CONTRIBUTING.md's recipe asks for, file by file.
TOY = {
    "__init__.py": '"""Toy: adds up numbers (a throwaway experiment that proves the layout)."""\n',
    "experiment.py": '''"""The toy experiment's declaration."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.toy.measure import Params


def variants(framework: str) -> dict[str, str]:
    return {"sum": "eager"}


EXPERIMENT = Experiment(name="toy", title="Toy sums", params=Params, order=99, summary="adds up numbers",
                        variants_of=variants, workloads=("numbers",), default_processes=1,
                        axes={"workload": "the numbers added", "variant": "sum", "mode": "eager"})
''',
    "metrics.py": '''"""Metrics only the toy experiment writes."""

from fwbench.measure.metrics import Metric

METRICS = {"toy_sum": Metric("count", "sum of 0 .. n-1")}
''',
    "measure.py": '''"""What a toy job runs."""

from dataclasses import dataclass, field

from fwbench.experiments.toy.metrics import METRICS
from fwbench.measure.job import Request
from fwbench.measure.metrics import record


@dataclass(frozen=True)
class Params:
    """Parameters a profile may set for the toy experiment."""

    n: int = field(default=4, metadata={"help": "how many numbers to add"})


def run(job: Request) -> dict:
    job.progress(f"adding {job.params.n} numbers")
    return {"records": [record(METRICS, "infer", 1, "toy_sum", sum(range(job.params.n)))], "samples": [], "checks": []}
''',
    "chapter.md": """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Toy sums

```{code-cell} ipython3
:tags: [remove-input]
from fwbench.report.results import Report, html_table
from IPython.display import HTML

records = Report.load().records
HTML(html_table(records[records.experiment == "toy"][["framework", "metric", "value"]]))
```
""",
}

TOY["notebook.ipynb"] = package_copy.recipe_notebook("toy")  # the whole folder, notebook included


def test_the_documented_experiment_fields_are_exactly_the_declarations():
    """CONTRIBUTING.md lists what `Experiment(...)` takes; a field it misses (as `axes` once was) is found here."""
    import dataclasses
    import re

    from fwbench.experiments.base import Experiment
    from fwbench.paths import REPO

    text = (REPO / "CONTRIBUTING.md").read_text()
    listed = re.search(r"EXPERIMENT = Experiment\(\.\.\.\): (.+?)\n  measure\.py", text, re.S).group(1)
    names = [n.strip() for n in re.sub(r"\s*\(.*?\)", "", " ".join(listed.split())).split(",")]
    assert [n.lower() for n in names] == [f.name for f in dataclasses.fields(Experiment)]


PROFILE = """name: toy
description: the throwaway experiment only
experiments:
  toy:
    frameworks: [torch]
    devices: [cpu]
    params: {n: 5}
"""


def test_a_new_experiment_folder_is_planned_run_stored_exported_and_given_a_chapter(tmp_path):
    copy = package_copy.make(tmp_path / "copy")
    package_copy.add_experiment(copy, "toy", TOY)
    profile = tmp_path / "toy.yml"
    profile.write_text(PROFILE)
    store = tmp_path / "store"

    plan = package_copy.run(copy, "plan", "--profile", str(profile), store=store)
    assert plan.returncode == 0, plan.stderr
    assert "run    toy-torch-cpu-numbers-sum-" in plan.stdout and "[new: never measured" in plan.stdout

    ran = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (job_file,) = (store / "runs").glob("*/jobs/*.json")
    job = json.loads(job_file.read_text())
    assert job["experiment"] == "toy" and job["status"] == "ok", job.get("error")
    assert [(r["metric"], r["value"], r["unit"]) for r in job["records"]] == [("toy_sum", 10.0, "count")]

    out = tmp_path / "tidy.csv"
    exported = package_copy.run(copy, "results", "-o", str(out), store=store)
    assert exported.returncode == 0, exported.stderr
    rows = [r for r in csv.DictReader(out.open()) if r["experiment"] == "toy"]
    assert [(r["workload"], r["metric"], float(r["value"])) for r in rows] == [("numbers", "toy_sum", 10.0)]

    again = package_copy.run(copy, "plan", "--profile", str(profile), store=store)
    assert "reuse  toy-torch-cpu-numbers-sum-" in again.stdout

    book = package_copy.run(copy, "book", "--no-reference", "--out", str(tmp_path / "out"), store=store, timeout=1200)
    assert book.returncode == 0, book.stdout[-3000:] + book.stderr[-3000:]
    html = tmp_path / "out" / "_build" / "html"
    chapter = (html / "chapters" / "toy.html").read_text()
    assert "Toy sums" in chapter and "toy_sum" in chapter
    assert "chapters/toy.html" in (html / "intro.html").read_text()  # in the sidebar and the chapter list
    assert "adds up numbers" in (html / "intro.html").read_text()
    method = (html / "chapters" / "method.html").read_text()
    assert "toy_sum" in method and "the numbers added" in method  # the metrics and the columns per experiment
