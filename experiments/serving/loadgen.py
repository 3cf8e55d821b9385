"""The load generator: its own process, closed-loop concurrency levels and open-loop fixed-rate runs against one URL.

    python -m fwbench.experiments.serving.loadgen --spec spec.json --out result.json [--cpus 1]

Built on aiohttp's client (one event loop, keep-alive connections). Two kinds of level:

- **closed**: `concurrency` clients, each sending its next request when the last
  one returned. Throughput at a given concurrency, and latency as a client sees it.
- **open**: requests *scheduled* at a fixed mean rate (Poisson arrivals from a
  seed), whatever the server does. Latency is measured from each request's
  scheduled time, not from when it was sent, so a stalled server or a lagging
  client shows up in the tail instead of silently lowering the rate (the
  coordinated-omission error of closed-loop tools).

Each level runs `warmup_s` unrecorded, then records for `duration_s` or
`max_requests`, whichever ends first. A closed level may end sooner, once it has
recorded `min_duration_s` and its latency distribution has converged: checked
every `CHECK_EVERY_S`, the median, mean and 99th percentile of everything recorded so far each
moved less than `converge_rtol` since the previous check, over at least
`MIN_CONVERGED_REQUESTS` answers and with no failed request (a level that sees errors runs to the
end, so its error rate is measured in full). The result says whether it did and how long it ran. The spec and the result are JSON; the
body to send is read from a file, as bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Level:
    """One load level."""

    kind: str = field(metadata={"help": "'closed' (fixed concurrency) or 'open' (fixed arrival rate)"})
    concurrency: int = field(default=1, metadata={"help": "closed: clients in flight at once"})
    rate: float = field(default=0.0, metadata={"help": "open: mean requests per second offered"})
    duration_s: float = field(default=2.0, metadata={"help": "recorded time of the level (after warm-up)"})
    warmup_s: float = field(default=0.3, metadata={"help": "time run first and not recorded"})
    max_requests: int = field(default=20000, metadata={"help": "the level also ends after this many recorded requests"})
    timeout_s: float = field(default=10.0, metadata={"help": "a request without an answer after this long is an error"})
    max_in_flight: int = field(
        default=512,
        metadata={
            "help": "open: connections at most; requests beyond wait for one (their wait counts in their latency)"
        },
    )
    min_duration_s: float = field(
        default=0.0,
        metadata={
            "help": "closed: recorded time after which the level may end once its latencies converged (0: never early)"
        },
    )
    converge_rtol: float = field(
        default=0.05,
        metadata={
            "help": "closed: converged when p50, mean and p99 each moved less than this (relative) since the last check"
        },
    )

    def __post_init__(self):
        if self.kind not in ("closed", "open"):
            raise ValueError(f"level kind must be 'closed' or 'open', got {self.kind!r}")
        if self.kind == "closed" and self.concurrency < 1:
            raise ValueError(f"closed level needs concurrency >= 1, got {self.concurrency!r}")
        if self.kind == "open" and not self.rate > 0:
            raise ValueError(f"open level needs a rate > 0, got {self.rate!r}")
        if not (self.duration_s > 0 and self.warmup_s >= 0 and self.max_requests >= 1 and self.timeout_s > 0):
            raise ValueError("duration_s and timeout_s must be > 0, warmup_s >= 0, max_requests >= 1")
        if not (self.min_duration_s >= 0 and self.converge_rtol > 0):
            raise ValueError("min_duration_s must be >= 0 and converge_rtol > 0")


#: How often a closed level checks whether its latency distribution has converged, and on how many answers at least.
CHECK_EVERY_S = 0.1
MIN_CONVERGED_REQUESTS = 200


def converged(latencies_s: list[float], previous: tuple | None, rtol: float) -> tuple[bool, tuple | None]:
    """Whether the latency summary (p50, mean, p99) moved less than `rtol` since `previous`; returns the summary
    to compare with next time (None while there are too few answers to say)."""
    if len(latencies_s) < MIN_CONVERGED_REQUESTS:
        return False, None
    lat = np.asarray(latencies_s)
    now = (float(np.percentile(lat, 50)), float(lat.mean()), float(np.percentile(lat, 99)))
    if previous is None:
        return False, now
    return all(abs(a - b) <= rtol * b for a, b in zip(now, previous)), now


def summarize(latencies_s: list[float], statuses: dict[str, int], elapsed_s: float) -> dict:
    """Throughput, error rate and latency percentiles of one level's recorded requests."""
    n_ok = len(latencies_s)
    n_all = sum(statuses.values())
    out = {
        "n_ok": n_ok,
        "n_requests": n_all,
        "statuses": dict(statuses),
        "elapsed_s": elapsed_s,
        "throughput_rps": n_ok / elapsed_s if elapsed_s > 0 else 0.0,
        "error_rate": (n_all - n_ok) / n_all if n_all else 1.0,
    }
    if n_ok:
        lat = np.asarray(latencies_s)
        for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9)):
            out[f"latency_{name}_s"] = float(np.percentile(lat, q))
        out.update(latency_mean_s=float(lat.mean()), latency_max_s=float(lat.max()), latency_min_s=float(lat.min()))
    return out


async def _request(session, url, body, headers, timeout_s) -> str:
    """Send one request; return its outcome: the HTTP status, or the exception's name."""
    import aiohttp

    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as resp:
            await resp.read()
            return str(resp.status)
    except asyncio.TimeoutError:
        return "timeout"
    except Exception as exc:  # noqa: BLE001 - refused, reset...: each is an error outcome
        return type(exc).__name__


async def _closed(level: Level, url, body, headers) -> dict:
    import aiohttp

    latencies, statuses = [], {}
    start = time.perf_counter()
    record_from = start + level.warmup_s
    stop_at = record_from + level.duration_s
    recorded = 0
    early = False

    async def watch():
        # Ends the level early (moves stop_at) once the latency distribution has converged; see the module doc.
        nonlocal stop_at, early
        if not 0 < level.min_duration_s < level.duration_s:
            return
        await asyncio.sleep(max(record_from + level.min_duration_s - time.perf_counter(), 0.0))
        previous = None
        while time.perf_counter() < stop_at:
            if recorded > len(latencies):  # a failed request: the level runs to its end
                return
            done, previous = converged(latencies, previous, level.converge_rtol)
            if done:
                stop_at, early = time.perf_counter(), True
                return
            await asyncio.sleep(CHECK_EVERY_S)

    async def client(session):
        nonlocal recorded
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at or recorded >= level.max_requests:
                return
            outcome = await _request(session, url, body, headers, level.timeout_s)
            t1 = time.perf_counter()
            if t0 >= record_from:
                recorded += 1
                statuses[outcome] = statuses.get(outcome, 0) + 1
                if outcome == "200":
                    latencies.append(t1 - t0)

    connector = aiohttp.TCPConnector(limit=level.concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        watcher = asyncio.ensure_future(watch())
        await asyncio.gather(*(client(session) for _ in range(level.concurrency)))
        watcher.cancel()
    elapsed = min(time.perf_counter(), stop_at) - record_from
    return {**summarize(latencies, statuses, max(elapsed, 1e-9)), "ended_early": early}


async def _open(level: Level, url, body, headers, seed: int) -> dict:
    import aiohttp

    rng = np.random.default_rng(seed)
    latencies, statuses, lags = [], {}, []
    tasks = []
    connector = aiohttp.TCPConnector(limit=level.max_in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        record_from = start + level.warmup_s
        stop_at = record_from + level.duration_s
        due = start
        recorded = 0

        async def one(scheduled: float, record: bool):
            outcome = await _request(session, url, body, headers, level.timeout_s)
            if record:
                statuses[outcome] = statuses.get(outcome, 0) + 1
                if outcome == "200":
                    latencies.append(time.perf_counter() - scheduled)

        while due < stop_at and recorded < level.max_requests:
            now = time.perf_counter()
            if due > now:
                # The event loop's timers tick in milliseconds: sleep to just before the
                # due time, then poll (the client has its own core to spend on this).
                await asyncio.sleep(due - now - 0.001 if due - now > 0.0015 else 0)
                continue
            record = due >= record_from
            if record:
                lags.append(time.perf_counter() - due)
                recorded += 1
            tasks.append(asyncio.ensure_future(one(due, record)))
            due += rng.exponential(1.0 / level.rate)
        # Requests still in flight finish (or time out) and count: dropping them would hide the tail.
        await asyncio.gather(*tasks)
    out = summarize(latencies, statuses, level.duration_s)
    out["offered_rps"] = recorded / level.duration_s
    out["max_send_lag_s"] = max(lags) if lags else 0.0
    return out


def open_levels(closed_results: list[dict], fractions: list[float], template: dict) -> list[Level]:
    """Open levels at each fraction of the best closed-loop throughput just measured (none if nothing was served)."""
    peak = max((r["throughput_rps"] for r in closed_results if r["level"]["kind"] == "closed"), default=0.0)
    return [Level(**{**template, "kind": "open", "rate": f * peak}) for f in fractions] if peak > 0 else []


def run_levels(
    url: str,
    body: bytes,
    content_type: str,
    levels: list[Level],
    seed: int = 0,
    open_fractions: list[float] = (),
    open_template: dict | None = None,
    open_seed: int = 1,
) -> list[dict]:
    """Run `levels` in order, then (with `open_fractions`) open levels sized from their best throughput, in the
    same process: starting a generator per step cost about half a second each."""
    headers = {"Content-Type": content_type, "Accept": content_type}

    async def main():
        results = await run(levels, seed)
        if open_fractions:
            results += await run(open_levels(results, list(open_fractions), open_template or {}), open_seed)
        return results

    async def run(levels, seed):
        results = []
        for i, level in enumerate(levels):
            # Wall-clock bounds, so that another process's samples (server memory) can be matched to the level.
            began = time.time()
            if level.kind == "closed":
                res = await _closed(level, url, body, headers)
            else:
                res = await _open(level, url, body, headers, seed + i)
            results.append({"level": asdict(level), "began_unix": began, "ended_unix": time.time(), **res})
        return results

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:
        return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fwbench.experiments.serving.loadgen", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--spec",
        required=True,
        help="JSON: url, body_file, content_type, levels, seed; optionally "
        "open_fractions, open_level (an open level's settings but its rate) and open_seed",
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("--cpus", default="", help="comma-separated CPUs to pin this process to")
    args = parser.parse_args(argv)
    if args.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
    spec = json.loads(open(args.spec).read())
    levels = [Level(**lv) for lv in spec["levels"]]
    with open(spec["body_file"], "rb") as f:
        body = f.read()
    # The generator's own garbage collection pauses would read as server latency; its
    # objects are short-lived and freed by reference counting, so collection stays off.
    gc.disable()
    started = time.perf_counter()
    results = run_levels(
        spec["url"],
        body,
        spec["content_type"],
        levels,
        spec.get("seed", 0),
        spec.get("open_fractions", []),
        spec.get("open_level"),
        spec.get("open_seed", 1),
    )
    from fwbench.files import write_json_atomic

    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    write_json_atomic(args.out, {"levels": results, "cpus": affinity, "wall_s": time.perf_counter() - started})
    return 0


if __name__ == "__main__":
    sys.exit(main())
