"""fwbench's own frontend (uvicorn + Starlette, fwbench.experiments.serving.frontend) in front of any fwbench runtime."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import urllib.request

from fwbench.experiments.serving.servers.base import Launch, Server, free_port


class Frontend(Server):
    name = "frontend"
    any_runtime = True

    def version(self) -> str:
        return " ".join(f"{d} {importlib.metadata.version(d)}" for d in ("uvicorn", "starlette"))

    def launch(self, runtime, artifact, workdir, options):
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "fwbench.experiments.serving.frontend",
            "--runtime",
            runtime,
            "--artifact",
            str(artifact),
            "--sample-shape",
            ",".join(map(str, options.sample_shape)),
            "--port",
            str(port),
            "--threads",
            str(options.threads),
            "--max-request-batch",
            str(options.max_request_batch),
        ]
        if options.batching:
            cmd += ["--batching", "--max-batch", str(options.max_batch), "--max-wait-ms", str(options.max_wait_ms)]
        return Launch(command=cmd, port=port, predict_path="/predict")

    def info(self, launch):
        with urllib.request.urlopen(f"http://127.0.0.1:{launch.port}/info", timeout=5) as resp:
            return json.loads(resp.read())

    def timings(self, launch, since, until):
        url = f"http://127.0.0.1:{launch.port}/timings?since={since!r}&until={until!r}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
