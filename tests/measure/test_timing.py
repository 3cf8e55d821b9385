"""The timer must wait for asynchronous work, keep the first call apart, and respect its budget."""

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fwbench.measure.timing import TimerConfig, measure

CFG = TimerConfig(warmup=1, repeats=5, min_repeats=5, max_time_s=10)


def test_waits_for_a_slow_asynchronous_function():
    pool = ThreadPoolExecutor(max_workers=1)
    launch = lambda: pool.submit(time.sleep, 0.05)  # returns at once, the work goes on in a thread
    synced = measure(launch, lambda fut: fut.result(), CFG)
    unsynced = measure(launch, lambda fut: None, CFG)
    pool.shutdown(wait=True)
    assert min(synced.samples_s) >= 0.05
    # Without sync the same call looks nearly free: this is the lie the sync prevents.
    assert max(unsynced.samples_s) < 0.05


def test_waits_for_jax_async_dispatch():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x = jnp.ones((800, 800))
    f = jax.jit(lambda a: (a @ a) @ a)
    f(x).block_until_ready()
    # Reference: converting to NumPy cannot return before the result exists.
    # Fastest steps, not medians, over three rounds that take turns: a busy moment of the machine (make test runs
    # two suites at once) can only slow some steps, never make the work quicker, and one such moment once covered
    # all of the reference's steps when each was timed in one go (63 ms against 31 ms synced).
    ways = {"blocking": (lambda: np.asarray(f(x)), lambda _: None), "synced": (lambda: f(x), jax.block_until_ready),
            "dispatch_only": (lambda: f(x), lambda out: None)}
    fastest = dict.fromkeys(ways, np.inf)
    for _ in range(3):
        for name, (fn, sync) in ways.items():
            fastest[name] = min(fastest[name], *measure(fn, sync, CFG).samples_s)
            f(x).block_until_ready()  # drain what unsynced calls queued before the next alternative
    blocking, synced, dispatch_only = fastest["blocking"], fastest["synced"], fastest["dispatch_only"]
    assert synced > 0.5 * blocking
    assert dispatch_only < synced / 5, "JAX dispatch should be asynchronous on this backend"


def test_first_call_is_kept_apart():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.2 if len(calls) == 1 else 0.001)

    timing = measure(fn, lambda _: None, TimerConfig(warmup=2, repeats=10, min_repeats=10))
    assert timing.first_call_s >= 0.2
    assert max(timing.samples_s) < 0.1
    assert len(calls) == 1 + 2 + 10
    assert timing.summary().n == 10


def test_time_budget_stops_after_min_repeats():
    timing = measure(lambda: time.sleep(0.02), lambda _: None,
                     TimerConfig(warmup=0, repeats=1000, min_repeats=3, max_time_s=0.01))
    assert 3 <= len(timing.samples_s) < 10


@pytest.mark.parametrize("kwargs", [dict(warmup=-1), dict(repeats=0), dict(min_repeats=5, repeats=2),
                                    dict(max_time_s=0), dict(warmup=1.5), dict(repeats=True)])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        TimerConfig(**kwargs)


def test_observer_sees_first_and_warmup_outputs_only():
    counter = iter(range(1000))
    seen = []
    timing = measure(lambda: next(counter), lambda _: None, TimerConfig(warmup=3, repeats=5, min_repeats=5),
                     observe=lambda i, out: seen.append((i, out)))
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert timing.first_output == 0 and len(timing.samples_s) == 5


# ---- interleaved measurement ------------------------------------------------------------------------

import gc as _gc
import random

from fwbench.measure.timing import InterleaveConfig, measure_interleaved


def _sleeper(seconds):
    return lambda: time.sleep(seconds)


def test_interleaved_alternatives_take_turns_in_a_seeded_order():
    # Real steal on this VM would drop a block and add a round: counted here, so nothing is dropped.
    cfg = InterleaveConfig(block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3,
                           warmup_max=30, max_stolen_blocks=0)
    calls = []
    fns = {name: (lambda n=name: (calls.append(n), time.sleep(0.001))) for name in ("a", "b", "c")}
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    assert all(len(s.samples_s) == 12 and s.stable for s in out.values())
    timed = calls[-36:]
    rounds = [timed[i:i + 9] for i in range(0, 36, 9)]
    orders = [tuple(dict.fromkeys(r)) for r in rounds]
    assert all(sorted(o) == ["a", "b", "c"] for o in orders) and len(set(orders)) > 1  # every round, shuffled
    calls.clear()
    measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    assert calls[-36:] == timed  # the same seed, the same order


def test_an_alternatives_context_is_on_for_its_own_calls_only_and_outside_the_clocks():
    import contextlib

    cfg = InterleaveConfig(block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3,
                           warmup_max=30)
    state = {"on": False, "entered": 0}
    seen = {"off": set(), "on": set()}

    @contextlib.contextmanager
    def tool():
        state["on"], state["entered"] = True, state["entered"] + 1
        try:
            yield
        finally:
            state["on"] = False

    calls = {"off": 0, "on": 0}

    def step(n):
        calls[n] += 1
        seen[n].add(state["on"])

    fns = {n: (lambda n=n: step(n)) for n in ("off", "on")}
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(3), contexts={"on": tool})
    assert seen == {"off": {False}, "on": {True}}
    # Entered once per first call, warm-up and block of 3 steps, not per step: its own cost never reaches a sample.
    # (A machine busy with other work can make the timer measure once more: more blocks, the same rule.)
    assert all(len(s.samples_s) >= 12 for s in out.values())
    assert 1 + 1 + 4 <= state["entered"] and state["entered"] - 1 - out["on"].attempts <= calls["on"] / 3


class _Clock:
    """A synthetic clock for the timer: steps advance it by seeded durations instead of sleeping, so the series the
    timer sees are exactly the ones the test describes, whatever else the machine is doing."""

    def __init__(self, seed: int = 0):
        self.ns = 0
        self.rng = np.random.default_rng(seed)

    def step(self, seconds: float) -> None:
        self.ns += int(seconds * self.rng.lognormal(0.0, 0.02) * 1e9)  # 2% jitter

    def perf_counter_ns(self) -> int:
        return self.ns

    def perf_counter(self) -> float:
        return self.ns * 1e-9


def test_a_series_that_shifts_is_measured_again_and_then_kept_as_unstable(monkeypatch):
    from fwbench.measure import timing

    clock = _Clock(seed=0)
    monkeypatch.setattr(timing, "time", clock)
    cfg = InterleaveConfig(block=5, block_warmup=0, min_blocks=6, max_blocks=6, max_time_s=0.01, warmup_min=5,
                           warmup_max=20)
    n = {"calls": 0}

    def breaks_after_a_while():  # fast, then (from its 40th call on) ten times slower for good
        n["calls"] += 1
        clock.step(0.0002 if n["calls"] < 40 else 0.002)

    out = measure_interleaved({"ok": lambda: clock.step(0.0005), "bad": breaks_after_a_while}, lambda _: None, cfg,
                              random.Random(0))
    assert out["ok"].stable
    # First attempt: the shift lands inside the timed steps; the second attempt is steady at the slow level.
    assert out["bad"].attempts == 2 and out["bad"].stable


def test_min_samples_wins_over_max_blocks():
    cfg = InterleaveConfig(block=1, block_warmup=0, min_samples=10, min_blocks=1, max_blocks=2, max_time_s=0.01,
                           warmup_min=1, warmup_max=10)
    out = measure_interleaved({"slow": _sleeper(0.03), "fast": _sleeper(0.001)}, lambda _: None, cfg,
                              random.Random(0))
    assert len(out["slow"].samples_s) >= 10  # 30 ms steps get one step per block: ten rounds, not two


def test_a_series_that_never_settles_is_stored_unstable_with_its_reason():
    cfg = InterleaveConfig(block=5, block_warmup=0, min_blocks=8, max_blocks=8, max_time_s=0.01, warmup_min=5,
                           warmup_max=30)
    n = {"calls": 0}

    def keeps_slowing():  # every call 6% slower than the one before, forever
        n["calls"] += 1
        time.sleep(0.0002 * 1.06 ** n["calls"])

    out = measure_interleaved({"slowing": keeps_slowing, "ok": _sleeper(0.001)}, lambda _: None, cfg,
                              random.Random(0))
    assert not out["slowing"].stable and out["slowing"].attempts == 2
    assert "did not settle" in out["slowing"].problem
    assert out["slowing"].samples_s  # kept with its series, for the book to show
    assert out["ok"].stable


def test_the_collector_is_off_inside_timed_blocks():
    states = []
    cfg = InterleaveConfig(block=4, block_warmup=1, min_samples=8, min_blocks=2, max_blocks=2, max_time_s=0.01,
                           warmup_min=2, warmup_max=4, max_stolen_blocks=0)  # exact counts: keep stolen blocks
    out = measure_interleaved({"a": lambda: states.append(_gc.isenabled())}, lambda _: None, cfg, random.Random(0))
    assert len(out["a"].samples_s) == 8
    assert states[-10:] == [False] * 10  # the last two timed blocks of 1 + 4 steps
    assert _gc.isenabled()


def test_the_wall_time_of_an_interleaved_measurement_is_split_into_its_parts():
    cfg = InterleaveConfig(block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3,
                           warmup_max=30)
    wall: dict[str, float] = {}
    started = time.perf_counter()
    measure_interleaved({"a": _sleeper(0.002), "b": _sleeper(0.002)}, lambda _: None, cfg, random.Random(0), wall=wall)
    elapsed = time.perf_counter() - started
    assert set(wall) == {"first calls", "warm-up", "timed rounds"}
    assert wall["first calls"] >= 0.004 and wall["warm-up"] >= 2 * 3 * 0.002 and wall["timed rounds"] >= 2 * 12 * 0.002
    assert sum(wall.values()) <= elapsed


def test_blocks_during_which_the_hypervisor_stole_cpu_are_run_again_up_to_a_bound(monkeypatch):
    from fwbench.measure import timing

    # The hypervisor's steal cannot be ordered on this machine: the counter is replaced by one that moves
    # while the "victim" runs its 3rd to 5th timed block (its steps tell it when), never for "calm".
    state = {"stolen": 0.0, "victim_blocks": 0, "in_rounds": False}

    def victim():
        time.sleep(0.001)
        if state["in_rounds"]:
            state["stolen"] += 0.01

    def calm():
        time.sleep(0.001)

    real_block = timing._block

    def block(fn, sync, steps, untimed=0):
        state["in_rounds"] = fn is victim and 3 <= state["victim_blocks"] + 1 <= 5
        state["victim_blocks"] += fn is victim
        try:
            return real_block(fn, sync, steps, untimed)
        finally:
            state["in_rounds"] = False

    monkeypatch.setattr(timing, "_block", block)
    monkeypatch.setattr(timing, "stolen_s", lambda: state["stolen"])
    cfg = InterleaveConfig(block=2, block_warmup=0, min_samples=12, min_blocks=6, max_blocks=6, max_time_s=0.01,
                           warmup_min=2, warmup_max=40)
    out = measure_interleaved({"victim": victim, "calm": calm}, lambda _: None, cfg, random.Random(0))
    v, c = out["victim"], out["calm"]
    assert v.attempts == 1, (v.remeasured_because, c.remeasured_because)
    assert (v.stolen_dropped, v.stolen_kept, c.stolen_dropped) == (3, 0, 0)
    assert v.stolen_s > 0 and len(v.samples_s) >= 12  # the dropped blocks were made up for
    # Past the bound, a stolen block is kept, and counted as kept.
    state.update(stolen=0.0, victim_blocks=0)
    bounded = measure_interleaved({"victim": victim, "calm": calm}, lambda _: None,
                                  dataclasses.replace(cfg, max_stolen_blocks=1), random.Random(0))
    assert (bounded["victim"].stolen_dropped, bounded["victim"].stolen_kept) == (1, 2)
