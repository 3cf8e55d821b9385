"""The nightly GitHub workflow is schema-valid, runs `make nightly` on a CPU and a GPU runner (or, where a Ray cluster is
configured, the nightly on its head as README "Many machines" says), keeps its caches, and uploads before it fails."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
# A proxy nothing listens on: the lint must work from check-jsonschema's vendored schema, and any attempt
# to download one fails at once instead of hanging or quietly passing on a network machine.
DEAD_PROXY = "http://127.0.0.1:9"
OFFLINE_ENV = {
    **os.environ,
    "HTTPS_PROXY": DEAD_PROXY,
    "HTTP_PROXY": DEAD_PROXY,
    "https_proxy": DEAD_PROXY,
    "http_proxy": DEAD_PROXY,
    "NO_PROXY": "",
    "no_proxy": "",
}
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def lint(path: Path) -> subprocess.CompletedProcess:
    assert CHECK_JSONSCHEMA.exists(), f"{CHECK_JSONSCHEMA} missing: install the test extra (make setup)"
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        env=OFFLINE_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(doc: dict) -> dict:
    # PyYAML reads the bare key `on` as YAML 1.1's boolean True.
    return doc["on"] if "on" in doc else doc[True]


def the_job(doc: dict) -> dict:
    """The nightly per machine (the Ray cluster's variant is `ray_job`)."""
    return doc["jobs"]["nightly"]


def ray_job(doc: dict) -> dict:
    return doc["jobs"]["nightly-ray"]


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def cache_steps(steps: list[dict], path: str) -> list[dict]:
    return [s for s in steps if s.get("uses", "").startswith("actions/cache") and s["with"]["path"].strip() == path]


def index(steps: list[dict], pred) -> int:
    (i,) = [i for i, s in enumerate(steps) if pred(s)]
    return i


def runs_make_nightly(step: dict) -> bool:
    return re.search(r"(?m)^\s*make nightly\s*$", step.get("run", "")) is not None


def always(step: dict) -> bool:
    return "always()" in str(step.get("if", ""))


def test_workflow_validates_against_the_github_schema_offline():
    res = lint(WORKFLOW)
    assert res.returncode == 0, res.stdout + res.stderr


def test_broken_workflows_are_rejected(tmp_path):
    text = WORKFLOW.read_text()
    for name, broken in [
        ("no-runs-on", re.sub(r"(?m)^    runs-on:.*\n", "", text)),
        ("misspelt-on", re.sub(r"(?m)^on:", "onn:", text)),
    ]:
        assert broken != text, name
        path = tmp_path / f"{name}.yml"
        path.write_text(broken)
        res = lint(path)
        assert res.returncode != 0 and "validation errors" in res.stdout + res.stderr, name


def test_nightly_on_a_schedule_and_on_demand():
    assert WORKFLOW.read_text().startswith("#")
    on = triggers(load())
    assert on["schedule"] and all(len(s["cron"].split()) == 5 for s in on["schedule"])
    assert "workflow_dispatch" in on


def test_matrix_has_a_hosted_cpu_and_a_self_hosted_gpu_runner():
    job = the_job(load())
    assert job["strategy"]["fail-fast"] is False
    entries = job["strategy"]["matrix"]["include"]
    runners = [e["runs-on"] for e in entries]
    assert "ubuntu-24.04" in runners and ["self-hosted", "linux", "x64", "gpu"] in runners
    assert job["runs-on"] == "${{ matrix.runs-on }}"
    assert len({e["name"] for e in entries}) == len(entries)
    # One night at a time per runner kind, and a running night is never cancelled by the next one.
    assert "matrix." in job["concurrency"]["group"] and job["concurrency"]["cancel-in-progress"] is False
    assert job["timeout-minutes"] > 0
    assert "TF_CPP_MIN_LOG_LEVEL" not in WORKFLOW.read_text()


def test_checkout_and_python():
    steps = the_job(load())["steps"]
    (checkout,) = [s for s in steps if uses(s, "actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0
    (python,) = [s for s in steps if uses(s, "actions/setup-python")]
    assert str(python["with"]["python-version"]) == "3.11" and "matrix." in python["if"]


def test_venv_and_store_caches():
    steps = the_job(load())["steps"]
    venv = cache_steps(steps, ".venv")
    key = venv[0]["with"]["key"]
    for part in ("runner.os", "matrix.name", "hashFiles(", "requirements.lock", "pyproject.toml"):
        assert part in key, part
    store = cache_steps(steps, "results")
    key = store[0]["with"]["key"]
    assert "github.run_id" in key and "matrix.name" in key
    prefix = store[0]["with"]["restore-keys"].strip()
    assert key.startswith(prefix) and "github.run_id" not in prefix
    nightly = index(steps, runs_make_nightly)
    assert index(steps, lambda s: s is store[0]) < nightly
    # actions/cache saves only when the whole job succeeds, and a night with a regression fails on purpose:
    # the store must then be saved by an explicit step that runs anyway.
    if uses(store[0], "actions/cache/restore"):
        (save,) = [s for s in store if uses(s, "actions/cache/save")]
        assert always(save) and steps.index(save) > nightly


def test_nightly_exit_code_is_acted_on_only_after_the_uploads():
    steps = the_job(load())["steps"]
    nightly = index(steps, runs_make_nightly)
    step = steps[nightly]
    assert step["id"]
    assert step.get("continue-on-error") is True or ("set +e" in step["run"] and "GITHUB_OUTPUT" in step["run"])
    uploads = [i for i, s in enumerate(steps) if uses(s, "actions/upload-artifact")]
    assert all(steps[i]["uses"].endswith("@v4") and always(steps[i]) for i in uploads)
    assert all(steps[i]["with"].get("retention-days") for i in uploads)
    paths = {steps[i]["with"]["path"].rstrip("/") for i in uploads}
    assert {"_build/html", "_build/nightly"} <= paths
    summary = index(steps, lambda s: "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert always(steps[summary]) and "_build/nightly/summary.txt" in steps[summary]["run"]
    last = steps[-1]
    assert f"steps.{step['id']}." in str(last) and "exit" in last["run"]
    assert nightly < min(uploads + [summary]) and max(uploads + [summary]) < len(steps) - 1


def bash_syntax_error(script: str) -> str:
    res = subprocess.run(
        ["bash", "-n"], input=EXPRESSION.sub("PLACEHOLDER", script), capture_output=True, text=True, timeout=30
    )
    return res.stderr if res.returncode else ""


def test_every_run_block_is_valid_bash():
    assert bash_syntax_error("if true; then echo ${{ x }}\n")  # the check itself catches a broken block
    runs = [s["run"] for job in load()["jobs"].values() for s in job["steps"] if "run" in s]
    assert runs
    for script in runs:
        assert not bash_syntax_error(script), script


def readme_many_machines() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Many machines\n", 1)[1].split("\n## ", 1)[0]


def test_the_ray_cluster_variant_replaces_the_job_per_runner_only_where_a_head_is_configured():
    doc = load()
    per_runner, ray = the_job(doc), ray_job(doc)
    assert set(doc["jobs"]) == {"tests", "nightly", "nightly-ray"}
    # Exactly one of them runs on a night: the variable decides.
    assert re.fullmatch(r"\$\{\{ vars\.FWBENCH_RAY_ADDRESS != '' \}\}", ray["if"])
    assert re.fullmatch(r"\$\{\{ vars\.FWBENCH_RAY_ADDRESS == '' \}\}", per_runner["if"])
    assert "self-hosted" in ray["runs-on"] and "strategy" not in ray
    assert ray["concurrency"]["cancel-in-progress"] is False and ray["timeout-minutes"] > 0
    assert ray["env"]["FWBENCH_RAY_ADDRESS"] == "${{ vars.FWBENCH_RAY_ADDRESS }}"


def test_the_ray_job_runs_the_commands_the_readme_names():
    readme = readme_many_machines()
    steps = ray_job(load())["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert "make setup ray-setup" in readme and any(r.strip() == "make setup ray-setup" for r in runs)
    command = re.search(r"python -m fwbench nightly --executor ray --address \S+", readme)
    assert command, "README's 'Many machines' names no nightly command against the cluster"
    (nightly,) = [i for i, s in enumerate(steps) if "-m fwbench nightly" in s.get("run", "")]
    line = next(ln for ln in steps[nightly]["run"].splitlines() if "-m fwbench nightly" in ln)
    assert re.search(r"python -m fwbench nightly .*--executor ray --address \"\$FWBENCH_RAY_ADDRESS\"", line), line
    assert "FWBENCH_RAY_ADDRESS" in readme
    # As for each machine: the store is saved and everything uploaded before the exit code fails the night.
    step = steps[nightly]
    assert "set +e" in step["run"] and "GITHUB_OUTPUT" in step["run"]
    (save,) = [s for s in cache_steps(steps, "results") if uses(s, "actions/cache/save")]
    uploads = [i for i, s in enumerate(steps) if uses(s, "actions/upload-artifact")]
    assert always(save) and steps.index(save) > nightly and all(always(steps[i]) for i in uploads)
    assert {steps[i]["with"]["path"].rstrip("/") for i in uploads} == {"_build/html", "_build/nightly"}
    assert f"steps.{step['id']}." in str(steps[-1]) and nightly < min(uploads) and max(uploads) < len(steps) - 1
    for script in runs:
        assert not bash_syntax_error(script), script


def test_the_full_test_tier_runs_nightly_on_a_runner_of_its_own():
    """What `make test` leaves out (the `extended` tests, tests/tiers.py) runs every night: `make test-all`, on a
    hosted runner apart from the measuring jobs, with the test times uploaded even when a test fails."""
    doc = load()
    tests = doc["jobs"]["tests"]
    assert tests["runs-on"] == "ubuntu-24.04" and "needs" not in tests and "if" not in tests
    steps = tests["steps"]
    run = index(steps, lambda s: re.search(r"(?m)^\s*make test-all\s*$", s.get("run", "")) is not None)
    assert any(uses(s, "actions/checkout") for s in steps[:run])
    upload = index(steps, lambda s: uses(s, "actions/upload-artifact"))
    assert upload > run and always(steps[upload]) and steps[upload]["with"]["path"].strip() == "_build/tests/"
    assert 0 < tests["timeout-minutes"] <= 90
    # The per-change tier is the README's `make test`; the Makefile's full tier runs the same script with --all.
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?m)^test-all: .*\n\t\$\(PY\) scripts/run_tests\.py --all ", makefile)
