"""TensorFlow Serving (`tensorflow_model_server`, REST API) serving a SavedModel, where its binary is on PATH.

It ships no package this project can install (no wheel; Docker or an apt
repository outside the allowed registries), so it runs only where a user
installed it; elsewhere the backend is recorded as unavailable, with that reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np

from fwbench.experiments.serving.servers.base import Launch, Server, free_port

BINARY = "tensorflow_model_server"
MODEL = "model"


class TFServing(Server):
    name = "tfserving"
    formats = ("json",)  # its REST API speaks JSON only (binary is gRPC)

    def unavailable(self):
        if shutil.which(BINARY) is None:
            return (
                f"no `{BINARY}` on PATH: TensorFlow Serving ships no pip or Debian package; "
                "install its binary (or run its Docker image's binary) to get this row"
            )
        return None

    def version(self):
        path = shutil.which(BINARY)
        if not path:
            return ""
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""

    def launch(self, runtime, artifact, workdir, options):
        # It loads <base>/<version>/saved_model.pb: version 1 is a link to the exported SavedModel.
        base = workdir / "tfserving_model"
        base.mkdir(parents=True, exist_ok=True)
        version_dir = base / "1"
        if not version_dir.exists():
            version_dir.symlink_to(artifact.resolve(), target_is_directory=True)
        port, grpc = free_port(), free_port()
        cmd = [
            shutil.which(BINARY) or BINARY,
            f"--rest_api_port={port}",
            f"--port={grpc}",
            f"--model_name={MODEL}",
            f"--model_base_path={base.resolve()}",
            f"--tensorflow_intra_op_parallelism={options.threads}",
            f"--tensorflow_inter_op_parallelism={options.threads}",
            "--rest_api_num_threads=4",
        ]
        if options.batching:
            params = workdir / "batching.txt"
            params.write_text(
                f"max_batch_size {{ value: {options.max_batch} }}\n"
                f"batch_timeout_micros {{ value: {int(options.max_wait_ms * 1000)} }}\n"
                "num_batch_threads { value: 1 }\nmax_enqueued_batches { value: 1000000 }\n"
            )
            cmd += ["--enable_batching", f"--batching_parameters_file={params.resolve()}"]
        return Launch(command=cmd, port=port, predict_path=f"/v1/models/{MODEL}:predict", extra_ports=(grpc,))

    def encode(self, x, fmt):
        return json.dumps({"instances": np.asarray(x).tolist()}).encode(), "application/json"

    def decode(self, body, content_type):
        return np.asarray(json.loads(body)["predictions"], dtype=np.float32)
