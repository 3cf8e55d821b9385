"""The files outside Python the jobs run are pinned by digest, so that editing one re-keys the jobs."""

from fwbench.experiments.outside_python import assets


def test_every_file_outside_python_is_pinned_at_its_current_digest():
    now = assets.actual()
    assert {
        "node/run.js",
        "web/page.js",
        "web/page.html",
        "converter/requirements.lock",
        "node/onnxruntime-node/package-lock.json",
    } <= set(now)
    body = "".join(f'    "{k}": "{v}",\n' for k, v in now.items())
    assert now == assets.DIGESTS, f"write this into experiments/outside_python/assets.py:\nDIGESTS = {{\n{body}}}"
    assets.check()
