"""The per-framework hooks: a compiler preload imports and starts nothing, and each framework's hooks load."""

import json
import subprocess
import sys

import pytest

from fwbench.experiments.debugging import hooks

# Runs in a fresh interpreter: what it reports must not depend on what this test process imported.
PROBE = """
import json, os, sys
from fwbench.measure import env
env.apply(1)
from fwbench.experiments.debugging import hooks
from fwbench.frameworks import get_adapter
get_adapter(sys.argv[1]).configure(1)
hooks.get(sys.argv[1])
def state():
    tasks = os.listdir("/proc/self/task")
    kids = [c for t in tasks for c in open(f"/proc/self/task/{t}/children").read().split()]
    return len(tasks), kids
before = state()
hooks.preload(sys.argv[1])
print(json.dumps({"before": before, "after": state(), "dynamo": "torch._dynamo" in sys.modules,
                  "inductor": "torch._inductor.compile_fx" in sys.modules}))
"""


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_preload_imports_the_compiler_and_starts_no_thread_or_process(framework):
    out = subprocess.run([sys.executable, "-c", PROBE, framework], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # A fork server forks after the preload: a thread would not survive the fork, and a child would be shared.
    assert seen["after"] == seen["before"], seen
    if framework == "torch":
        assert seen["dynamo"] and seen["inductor"]


def test_every_framework_with_hooks_has_the_hooks_the_experiment_calls():
    for framework in hooks.frameworks():
        module = hooks.get(framework)
        for name in ("TOOLS", "target", "profiler_trace", "scalar_log"):
            assert hasattr(module, name), (framework, name)
        assert set(hooks.tools(framework)) == set(module.TOOLS) and "none" in module.TOOLS
