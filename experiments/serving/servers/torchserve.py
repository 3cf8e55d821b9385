"""TorchServe (Java frontend, Python worker) serving an archived model through fwbench's handler, where it is installed.

The model is archived unzipped (`--archive-format no-archive`, nothing to extract
at start-up) with `_torchserve_handler.py`; TorchServe's own batching
(`batchSize`, `maxBatchDelay`) is the batching setting. Everything binds to
127.0.0.1 on free ports (gRPC included, which it opens by default), its temp
files, pid file and logs stay in the work directory, and it runs in the
foreground so that stopping its process group stops Java and the worker.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fwbench.experiments.serving.servers.base import Launch, Server, free_port

MODEL = "model"
HANDLER = Path(__file__).with_name("_torchserve_handler.py")
#: Warnings only, to the server's own output (which fwbench keeps): at its default level it logs ~20 lines
#: per request, which costs throughput.
LOG_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration>
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} [%-5p] %t %c - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="ACCESS_LOG" level="off"/>
    <Logger name="MODEL_METRICS" level="off"/>
    <Logger name="TS_METRICS" level="off"/>
    <Logger name="io.netty" level="error"/>
    <Logger name="MODEL_LOG" level="info" additivity="false"><AppenderRef ref="stdout"/></Logger>
    <Logger name="org.pytorch.serve" level="warn" additivity="false"><AppenderRef ref="stdout"/></Logger>
    <Root level="warn"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
"""


def _bin(name: str) -> str | None:
    # The console scripts sit next to this interpreter in a venv, which need not be on PATH.
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else shutil.which(name)


class TorchServe(Server):
    name = "torchserve"

    def unavailable(self):
        missing = [n for n in ("torchserve", "torch-model-archiver") if _bin(n) is None]
        if missing:
            return f"{' and '.join(missing)} not installed (pip install torchserve torch-model-archiver)"
        if shutil.which("java") is None:
            return "TorchServe's frontend needs Java (a JDK 17+ `java` on PATH); none found"
        return None

    def version(self):
        try:
            return f"torchserve {importlib.metadata.version('torchserve')}"
        except importlib.metadata.PackageNotFoundError:
            return ""

    def launch(self, runtime, artifact, workdir, options):
        store, logs = workdir / "ts-model-store", workdir / "ts-logs"
        for d in (store, logs):
            d.mkdir(parents=True, exist_ok=True)
        # Its pid file and worker sockets live in TEMP; a Unix socket path has ~100 characters at most,
        # which a deep work directory exceeds, so TEMP is a short directory of its own.
        tmp = Path(tempfile.mkdtemp(prefix="fwts-"))
        config = {
            "runtime": runtime,
            "sample_shape": list(options.sample_shape),
            "threads": options.threads,
            "max_request_batch": options.max_request_batch,
        }
        (workdir / "fwbench_serving.json").write_text(json.dumps(config))
        if not (store / MODEL).exists():
            subprocess.run(
                [
                    _bin("torch-model-archiver"),
                    "--model-name",
                    MODEL,
                    "--version",
                    "1.0",
                    "--serialized-file",
                    str(artifact),
                    "--handler",
                    str(HANDLER),
                    "--extra-files",
                    str(workdir / "fwbench_serving.json"),
                    "--export-path",
                    str(store),
                    "--archive-format",
                    "no-archive",
                    "--force",
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
        port, management, grpc, grpc_m, worker = (free_port() for _ in range(5))
        batch = options.max_batch if options.batching else 1
        models = {
            MODEL: {
                "1.0": {
                    "defaultVersion": True,
                    "marName": MODEL,
                    "minWorkers": 1,
                    "maxWorkers": 1,
                    "batchSize": batch,
                    "maxBatchDelay": int(round(options.max_wait_ms)),
                    "responseTimeout": 120,
                }
            }
        }
        lines = [
            f"inference_address=http://127.0.0.1:{port}",
            f"management_address=http://127.0.0.1:{management}",
            "grpc_inference_address=127.0.0.1",
            "grpc_management_address=127.0.0.1",
            f"grpc_inference_port={grpc}",
            f"grpc_management_port={grpc_m}",
            f"initial_worker_port={worker}",
            f"model_store={store}",
            f"load_models={MODEL}",
            f"models={json.dumps(models)}",
            "default_workers_per_model=1",
            "disable_token_authorization=true",
            "install_py_dep_per_model=false",
            "disable_system_metrics=true",
            "enable_metrics_api=false",
            f"number_of_netty_threads={max(1, options.threads)}",
            # A small heap and one visible processor: the server has one core here, like the frontend.
            f"vmargs=-Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount={max(1, options.threads)} -XX:-UsePerfData",
        ]
        (workdir / "config.properties").write_text("\n".join(lines) + "\n")
        (workdir / "log4j2.xml").write_text(LOG_CONFIG)
        threads = str(options.threads)
        env = {
            "TEMP": str(tmp),
            "TMPDIR": str(tmp),
            "LOG_LOCATION": str(logs),
            "METRICS_LOCATION": str(logs),
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        cmd = [
            _bin("torchserve"),
            "--start",
            "--foreground",
            "--ncs",
            "--disable-token-auth",
            "--ts-config",
            str(workdir / "config.properties"),
            "--model-store",
            str(store),
            "--log-config",
            str(workdir / "log4j2.xml"),
        ]
        return Launch(
            command=cmd,
            port=port,
            predict_path=f"/predictions/{MODEL}",
            env=env,
            extra_ports=(management, grpc, grpc_m),
            scratch_dirs=(str(tmp),),
        )
