"""The common HTTP frontend: one Starlette app under uvicorn in front of any runtime, dynamic batching optional.

    python -m fwbench.experiments.serving.frontend --runtime onnxruntime --artifact model.onnx --sample-shape 784 \
        --port 8123 [--batching --max-batch 16 --max-wait-ms 2] [--threads 1]

Routes: `POST /predict` (fwbench.experiments.serving.wire formats), `GET /health`, `GET /info` (the
runtime, its version, import and load times, the process id), `GET /timings?since=&until=` (where the
requests that arrived in that window spent their time inside the server: decoding, queued, in the
runtime's call, encoding; see `RequestLog`).

The model runs on one worker thread, so the event loop keeps accepting requests
while it computes. Without batching each request is its own call; with batching
requests that arrive while the model is busy, or within `max_wait_ms` of the
first one, are stacked into one call of at most `max_batch` rows and the rows
handed back to their requests. Both paths use the same thread, so batching is
the only difference.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# numpy and the runtime are imported only after fwbench.measure.env.apply() has set thread counts.


class RequestLog:
    """Where each request's time went inside the server, so a reader can tell the runtime from the frontend:
    (arrival, decode, queue, runtime, encode) seconds per request, and the model thread's busy time owed to it
    (its call's time split over the requests the call served). Bounded: the oldest entries go first."""

    PARTS = ("decode_s", "queue_s", "runtime_s", "encode_s")

    def __init__(self, maxlen: int = 400_000):
        import collections

        self.entries: collections.deque = collections.deque(maxlen=maxlen)

    def add(
        self, arrived_unix: float, decode_s: float, queue_s: float, runtime_s: float, encode_s: float, busy_s: float
    ) -> None:
        self.entries.append((arrived_unix, decode_s, queue_s, runtime_s, encode_s, busy_s))

    def window(self, since: float, until: float) -> dict:
        """Means per request over the requests that arrived in [since, until]: each part, their sum, and the
        model thread's busy time per request (`model_busy_s`)."""
        rows = [e[1:] for e in list(self.entries) if since <= e[0] <= until]
        out = {"requests": len(rows)}
        if rows:
            means = [sum(r[i] for r in rows) / len(rows) for i in range(len(self.PARTS) + 1)]
            out.update(dict(zip(self.PARTS, means)), handled_s=sum(means[:-1]), model_busy_s=means[-1])
        return out


def timed_call(run, x):
    """The runtime's call with its start and end on the server's clock (the queue ends where the call starts)."""
    began = time.perf_counter()
    y = run(x)
    return y, began, time.perf_counter()


class Batcher:
    """Collects queued requests into one model call (dynamic batching)."""

    def __init__(self, run, executor, max_batch: int, max_wait_s: float):
        self.run, self.executor = run, executor
        self.max_batch, self.max_wait_s = max_batch, max_wait_s
        self.queue: asyncio.Queue = asyncio.Queue()
        self.batches = 0
        self.rows = 0

    async def submit(self, x):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((x, future))
        return await future

    async def serve(self) -> None:
        import numpy as np

        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            rows = len(items[0][0])
            deadline = loop.time() + self.max_wait_s
            while rows < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self.queue.get(), remaining)
                    except asyncio.TimeoutError:
                        break
                items.append(item)
                rows += len(item[0])
            batch = np.concatenate([x for x, _ in items]) if len(items) > 1 else items[0][0]
            try:
                y, began, ended = await loop.run_in_executor(self.executor, timed_call, self.run, batch)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the model's error
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.rows += rows
            start = 0
            for x, future in items:
                if not future.done():  # its client may have gone away
                    future.set_result((y[start : start + len(x)], began, ended, len(items)))
                start += len(x)


def make_app(run, spec, info: dict, batching: bool, max_batch: int = 16, max_wait_s: float = 0.002):
    """The Starlette app serving `run` (NumPy batch -> NumPy logits)."""
    import numpy as np
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from fwbench.experiments.serving import wire

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
    batcher = Batcher(run, executor, max_batch, max_wait_s) if batching else None

    log = RequestLog()

    async def predict(request):
        arrived = time.time()  # what the level windows of the load generator are matched on
        body = await request.body()
        t0 = time.perf_counter()  # from here: reading the body and what came before are the HTTP layer's time
        ctype = request.headers.get("content-type", "")
        try:
            x = wire.decode_request(body, ctype, spec)
        except wire.BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        decoded = time.perf_counter()
        try:
            if batcher is not None:
                y, began, ended, shared = await batcher.submit(x)
            else:
                y, began, ended = await asyncio.get_running_loop().run_in_executor(executor, timed_call, run, x)
                shared = 1
        except Exception as exc:  # noqa: BLE001 - the runtime failed on valid input: a server error
            return JSONResponse({"error": f"{type(exc).__name__}: {str(exc)[:500]}"}, status_code=500)
        back = time.perf_counter()
        content, media = wire.encode_response(np.asarray(y), request.headers.get("accept") or ctype)
        # queue: decoded until the call began (waiting for the model thread or for a batch); after the call, the
        # hop back to the event loop counts as queue too (it is waiting, not work).
        log.add(
            arrived,
            decoded - t0,
            (began - decoded) + (back - ended),
            ended - began,
            time.perf_counter() - back,
            (ended - began) / shared,
        )
        return Response(content, media_type=media)

    async def timings(request):
        try:
            since = float(request.query_params.get("since", "0"))
            until = float(request.query_params.get("until", "inf"))
        except ValueError:
            return JSONResponse({"error": "since and until are unix times"}, status_code=400)
        return JSONResponse(log.window(since, until))

    async def health(request):
        return JSONResponse({"ok": True})

    async def describe(request):
        extra = {"batches": batcher.batches, "rows": batcher.rows} if batcher else {}
        return JSONResponse({**info, **extra})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(batcher.serve()) if batcher else None
        yield
        if task:
            task.cancel()
        executor.shutdown(wait=False, cancel_futures=True)

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health),
            Route("/info", describe),
            Route("/timings", timings),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fwbench.experiments.serving.frontend", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runtime", required=True, help="fwbench runtime name, e.g. onnxruntime, live:torch")
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--sample-shape", required=True, help="comma-separated shape of one input sample")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batching", action="store_true")
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--max-request-batch", type=int, default=256)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from fwbench.measure import env

    settings = env.apply(args.threads)
    from pathlib import Path

    import uvicorn

    from fwbench.experiments.serving import wire
    from fwbench.runtimes import load_timed

    loaded = load_timed(args.runtime, Path(args.artifact), settings["threads"])
    spec = wire.InputSpec(tuple(int(d) for d in args.sample_shape.split(",")), args.max_request_batch)
    info = {
        "runtime": args.runtime,
        "runtime_version": loaded.runtime.version(),
        "import_s": loaded.import_s,
        "load_s": loaded.load_s,
        "startup_s": time.perf_counter() - started,
        "threads": settings["threads"],
        "cpu_affinity": settings["cpu_affinity"],
        "batching": args.batching,
        "max_batch": args.max_batch,
        "max_wait_ms": args.max_wait_ms,
    }
    app = make_app(loaded.run, spec, info, args.batching, args.max_batch, args.max_wait_ms / 1000)
    # uvloop + httptools: uvicorn's fast path, as deployed in production.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
