"""The timer must wait for asynchronous work, keep the first call apart, and respect its budget."""

import dataclasses
import os
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
    ways = {
        "blocking": (lambda: np.asarray(f(x)), lambda _: None),
        "synced": (lambda: f(x), jax.block_until_ready),
        "dispatch_only": (lambda: f(x), lambda out: None),
    }
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
    timing = measure(
        lambda: time.sleep(0.02), lambda _: None, TimerConfig(warmup=0, repeats=1000, min_repeats=3, max_time_s=0.01)
    )
    assert 3 <= len(timing.samples_s) < 10


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(warmup=-1),
        dict(repeats=0),
        dict(min_repeats=5, repeats=2),
        dict(max_time_s=0),
        dict(warmup=1.5),
        dict(repeats=True),
    ],
)
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        TimerConfig(**kwargs)


def test_observer_sees_first_and_warmup_outputs_only():
    counter = iter(range(1000))
    seen = []
    timing = measure(
        lambda: next(counter),
        lambda _: None,
        TimerConfig(warmup=3, repeats=5, min_repeats=5),
        observe=lambda i, out: seen.append((i, out)),
    )
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert timing.first_output == 0 and len(timing.samples_s) == 5


# ---- interleaved measurement ------------------------------------------------------------------------

from fwbench.measure import timing as _timing

#: The machine's real counters; the tests below about other things run without them, since the test suite keeps
#: the machine busy itself (two pytest processes on two cores) and the busy rule would rightly re-run their rounds.
_REAL_OTHERS = _timing._others_cpu_s


@pytest.fixture(autouse=True)
def _no_machine_counters(monkeypatch):
    monkeypatch.setattr(_timing, "_others_cpu_s", lambda: None)


import gc as _gc
import random

from fwbench.measure.timing import InterleaveConfig, measure_interleaved


def _sleeper(seconds):
    return lambda: time.sleep(seconds)


def _undisturbed(monkeypatch) -> None:
    """Busy and steal detection off, for tests of the orders alone: a busy neighbour (the other half of make test)
    or real steal drops a window or a block and adds a round, which changes which calls come last; with nothing
    allowed to be dropped it marks the series busy."""
    monkeypatch.setattr(_timing, "_busy", lambda *args: False)
    monkeypatch.setattr(_timing, "stolen_s", lambda: None)


def test_interleaved_alternatives_take_turns_in_a_seeded_order(monkeypatch):
    _undisturbed(monkeypatch)
    cfg = InterleaveConfig(
        block=3,
        block_warmup=0,
        min_blocks=4,
        max_blocks=4,
        max_time_s=0.01,
        warmup_min=3,
        warmup_max=30,
        max_disturbed_share=0.0,
        min_redo=0,
    )
    calls = []
    fns = {name: (lambda n=name: (calls.append(n), time.sleep(0.001))) for name in ("a", "b", "c")}
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    assert all(len(s.samples_s) == 12 and s.stable for s in out.values())
    timed = calls[-36:]
    rounds = [timed[i : i + 9] for i in range(0, 36, 9)]
    orders = [tuple(dict.fromkeys(r)) for r in rounds]
    assert all(sorted(o) == ["a", "b", "c"] for o in orders) and len(set(orders)) > 1  # every round, shuffled
    calls.clear()
    measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    assert calls[-36:] == timed  # the same seed, the same order
    # A longer warm-up (as a loaded machine gives, or a second attempt) does not move the timed order.
    calls.clear()
    measure_interleaved(fns, lambda _: None, dataclasses.replace(cfg, warmup_min=12), random.Random(1))
    assert calls[-36:] == timed


def test_a_second_attempt_times_its_rounds_in_the_same_seeded_order(monkeypatch):
    # What made two runs of one seed differ on a loaded VM: one run's series shifted and was measured again.
    from fwbench.measure import timing

    cfg = InterleaveConfig(
        block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3, warmup_max=30
    )
    calls = []
    fns = {name: (lambda n=name: (calls.append(n), time.sleep(0.001))) for name in ("a", "b", "c")}
    _undisturbed(monkeypatch)  # neither attempt may see a neighbour or the hypervisor
    monkeypatch.setattr(timing.Series, "health", lambda self, config: "")
    measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    once = calls[-36:]
    # The first attempt's timed series reads as shifted, once: the machine is quiet, so it is measured again.
    flagged = {"left": 1}

    def shifted_once(self, config):
        if self.name == "a" and flagged["left"]:
            flagged["left"] -= 1
            return "shifted"
        return ""

    monkeypatch.setattr(timing.Series, "health", shifted_once)
    calls.clear()
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(1))
    assert out["a"].attempts == 2 and calls[-36:] == once


def test_an_alternatives_context_is_on_for_its_own_calls_only_and_outside_the_clocks():
    import contextlib

    cfg = InterleaveConfig(
        block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3, warmup_max=30
    )
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
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: None)  # a synthetic clock: the machine's counters mean nothing
    cfg = InterleaveConfig(
        block=5, block_warmup=0, min_blocks=6, max_blocks=6, max_time_s=0.01, warmup_min=5, warmup_max=20
    )
    n = {"calls": 0}

    def breaks_after_a_while():  # fast, then (from its 40th call on) ten times slower for good
        n["calls"] += 1
        clock.step(0.0002 if n["calls"] < 40 else 0.002)

    out = measure_interleaved(
        {"ok": lambda: clock.step(0.0005), "bad": breaks_after_a_while}, lambda _: None, cfg, random.Random(0)
    )
    assert out["ok"].stable
    # First attempt: the shift lands inside the timed steps; the second attempt is steady at the slow level.
    assert out["bad"].attempts == 2 and out["bad"].stable


def test_min_samples_wins_over_max_blocks():
    cfg = InterleaveConfig(
        block=1,
        block_warmup=0,
        min_samples=10,
        min_blocks=1,
        max_blocks=2,
        max_time_s=0.01,
        warmup_min=1,
        warmup_max=10,
    )
    out = measure_interleaved({"slow": _sleeper(0.03), "fast": _sleeper(0.001)}, lambda _: None, cfg, random.Random(0))
    assert len(out["slow"].samples_s) >= 10  # 30 ms steps get one step per block: ten rounds, not two


def test_a_series_that_never_settles_is_stored_unstable_with_its_reason():
    cfg = InterleaveConfig(
        block=5, block_warmup=0, min_blocks=8, max_blocks=8, max_time_s=0.01, warmup_min=5, warmup_max=30
    )
    n = {"calls": 0}

    def keeps_slowing():  # every call 6% slower than the one before, forever
        n["calls"] += 1
        time.sleep(0.0002 * 1.06 ** n["calls"])

    out = measure_interleaved({"slowing": keeps_slowing, "ok": _sleeper(0.001)}, lambda _: None, cfg, random.Random(0))
    assert not out["slowing"].stable and out["slowing"].attempts == 2
    assert "did not settle" in out["slowing"].problem
    assert out["slowing"].samples_s  # kept with its series, for the book to show
    assert out["ok"].stable


def test_the_collector_runs_inside_timed_blocks_and_its_time_is_recorded():
    """A user's loop pays for garbage collection; frameworks differ in the garbage they leave. The collector stays
    on while the clock runs, and the time its passes took is charged to the alternative that made the garbage."""
    states = []
    cfg = InterleaveConfig(
        block=4,
        block_warmup=1,
        min_samples=8,
        min_blocks=2,
        max_blocks=2,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=4,
        max_disturbed_share=0.0,
        min_redo=0,
    )

    def litter():  # cyclic garbage: only the collector frees it
        states.append(_gc.isenabled())
        for _ in range(3000):
            a = []
            a.append(a)

    out = measure_interleaved({"litter": litter, "tidy": lambda: None}, lambda _: None, cfg, random.Random(0))
    assert len(out["litter"].samples_s) == 8
    assert all(states[-10:])  # the last two timed blocks of 1 + 4 steps ran with the collector on
    assert out["litter"].gc_collections > 0 and out["litter"].gc_s > 0
    assert out["tidy"].gc_s <= out["litter"].gc_s
    assert _gc.isenabled() and not any(
        getattr(cb, "__self__", None).__class__.__name__ == "GcClock" for cb in _gc.callbacks
    )
    assert _gc.get_freeze_count() == 0  # nothing left frozen: the timed steps collect over the whole heap


def test_untimed_steps_per_block_are_decided_once_for_every_alternative_compared():
    """A 1 ms step and a 10 ms step compared: both get the same untimed steps per block (none: not every step is
    short), so neither refills its caches off the clock while the other pays for it; two short steps both get them."""
    cfg = InterleaveConfig(
        block=4,
        block_warmup=2,
        short_step_s=0.005,
        min_blocks=2,
        max_blocks=2,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=8,
    )
    out = measure_interleaved({"short": _sleeper(0.001), "long": _sleeper(0.01)}, lambda _: None, cfg, random.Random(0))
    assert out["short"].untimed_per_block == out["long"].untimed_per_block == 0
    both_short = measure_interleaved(
        {"a": _sleeper(0.001), "b": _sleeper(0.002)}, lambda _: None, cfg, random.Random(0)
    )
    assert both_short["a"].untimed_per_block == both_short["b"].untimed_per_block == 2


def test_gc_clock_on_the_single_function_timer():
    def litter():
        for _ in range(3000):
            a = []
            a.append(a)

    t = measure(litter, lambda _: None, TimerConfig(warmup=1, repeats=20, min_repeats=20, max_time_s=5))
    assert t.gc_collections > 0 and t.gc_s > 0 and len(t.samples_s) == 20


def test_the_wall_time_of_an_interleaved_measurement_is_split_into_its_parts():
    cfg = InterleaveConfig(
        block=3, block_warmup=0, min_blocks=4, max_blocks=4, max_time_s=0.01, warmup_min=3, warmup_max=30
    )
    wall: dict[str, float] = {}
    started = time.perf_counter()
    measure_interleaved({"a": _sleeper(0.002), "b": _sleeper(0.002)}, lambda _: None, cfg, random.Random(0), wall=wall)
    elapsed = time.perf_counter() - started
    assert set(wall) == {"first calls", "warm-up", "timed rounds"}
    assert wall["first calls"] >= 0.004 and wall["warm-up"] >= 2 * 3 * 0.002 and wall["timed rounds"] >= 2 * 12 * 0.002
    assert sum(wall.values()) <= elapsed


def _steal_in_blocks(monkeypatch, state: dict, victim, first: int = 3, last: int = 5) -> None:
    """The hypervisor's steal cannot be ordered on this machine: the steal counter becomes state["stolen"], and
    state["in_rounds"] is set while `victim` runs its `first` to `last` timed block (its steps add to the counter
    then); state["blocks"] counts the victim's blocks."""
    from fwbench.measure import timing

    real_block = timing._block

    def block(fn, sync, steps, untimed=0, gc_clock=None, name=None):
        state["in_rounds"] = fn is victim and first <= state["blocks"] + 1 <= last
        state["blocks"] += fn is victim
        try:
            return real_block(fn, sync, steps, untimed, gc_clock, name)
        finally:
            state["in_rounds"] = False

    monkeypatch.setattr(timing, "_block", block)
    monkeypatch.setattr(timing, "stolen_s", lambda: state["stolen"])


def test_blocks_during_which_the_hypervisor_stole_cpu_are_run_again_up_to_a_bound(monkeypatch):
    from fwbench.measure import timing

    # The hypervisor's steal cannot be ordered on this machine: the counter is replaced by one that moves
    # while the "victim" runs its 3rd to 5th timed block (its steps tell it when), never for "calm".
    state = {"stolen": 0.0, "blocks": 0, "in_rounds": False}

    def victim():
        time.sleep(0.001)
        if state["in_rounds"]:
            state["stolen"] += 0.01

    def calm():
        time.sleep(0.001)

    _steal_in_blocks(monkeypatch, state, victim)
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: None)  # this test is about steal only
    cfg = InterleaveConfig(
        block=2,
        block_warmup=0,
        min_samples=12,
        min_blocks=6,
        max_blocks=6,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=40,
    )
    out = measure_interleaved({"victim": victim, "calm": calm}, lambda _: None, cfg, random.Random(0))
    v, c = out["victim"], out["calm"]
    assert v.attempts == 1, (v.remeasured_because, c.remeasured_because)
    assert (v.stolen_dropped, v.stolen_kept, c.stolen_dropped) == (3, 0, 0)
    assert v.stolen_s > 0 and len(v.samples_s) >= 12  # the dropped blocks were made up for
    assert not v.busy and v.disturbed_share == 3 / (3 + v.blocks)
    # Past the bound, a stolen block is kept, counted as kept, and the series is marked as measured on a busy
    # machine: measured again once, then stored unstable (kept out of verdicts) with the reason.
    state.update(stolen=0.0, blocks=0)
    bounded = measure_interleaved(
        {"victim": victim, "calm": calm},
        lambda _: None,
        dataclasses.replace(cfg, max_disturbed_share=0.0, min_redo=1),
        random.Random(0),
    )
    assert bounded["victim"].remeasured_because.startswith("measured on a busy machine")
    assert bounded["calm"].stable and not bounded["calm"].busy


def test_a_long_block_keeps_one_tick_of_steal_and_a_short_block_does_not():
    from fwbench.measure.timing import BUSY_SLACK_S, _steal_allowed

    tick = 0.01  # /proc/stat's unit
    assert tick > _steal_allowed(0.02) and tick > _steal_allowed(0.19)
    assert tick <= _steal_allowed(0.2) and tick <= _steal_allowed(0.35) and 2 * tick > _steal_allowed(0.35)
    assert _steal_allowed(10.0) < BUSY_SLACK_S + 1e-6  # never more than the tick rounding allowed to neighbours


@pytest.mark.parametrize("ticks, dropped", [(1, 0), (2, 3)])
def test_steal_in_a_slow_steps_blocks_is_judged_against_their_length(monkeypatch, ticks, dropped):
    from fwbench.measure import timing

    clock = _Clock(seed=1)
    monkeypatch.setattr(timing, "time", clock)
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: None)  # this test is about steal only
    state = {"stolen": 0.0, "blocks": 0, "in_rounds": False}

    def slow():  # a 0.35 s step (JAX's eager rnn on 2 vCPUs): blocks of one step
        clock.step(0.35)
        if state["in_rounds"]:
            state["stolen"] += ticks * 0.01

    _steal_in_blocks(monkeypatch, state, slow)
    cfg = InterleaveConfig(
        block=4,
        block_warmup=0,
        min_samples=8,
        min_blocks=8,
        max_blocks=8,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=20,
    )
    out = measure_interleaved({"slow": slow, "fast": lambda: clock.step(0.005)}, lambda _: None, cfg, random.Random(0))
    s = out["slow"]
    assert (s.stolen_dropped, s.stolen_kept, s.busy, s.stable) == (dropped, 0, False, True)
    assert len(s.samples_s) == 8 and out["fast"].stolen_dropped == 0


def test_a_steady_series_disturbed_past_the_bound_is_timed_again_without_warming_up_again(monkeypatch):
    from fwbench.measure import timing

    warmed = []
    real_warm = timing._warm

    def warm(series, *args):
        warmed.append(series.name)
        return real_warm(series, *args)

    state = {"stolen": 0.0}

    def victim():
        time.sleep(0.001)
        state["stolen"] += 0.01  # every block of the victim's is stolen from, warm-up's too (not judged there)

    monkeypatch.setattr(timing, "_warm", warm)
    monkeypatch.setattr(timing, "stolen_s", lambda: state["stolen"])
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: None)
    cfg = InterleaveConfig(
        block=2,
        block_warmup=0,
        min_samples=8,
        min_blocks=4,
        max_blocks=4,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=40,
        max_disturbed_share=0.0,
        min_redo=1,
    )
    out = measure_interleaved(
        {"victim": victim, "calm": lambda: time.sleep(0.001)}, lambda _: None, cfg, random.Random(0)
    )
    v = out["victim"]
    assert v.attempts == 2 and v.remeasured_because.startswith("measured on a busy machine")
    assert not v.stable and v.busy  # still stolen from: kept out, with the reason
    assert sorted(warmed) == ["calm", "victim"]  # each warmed up once, in the first attempt


def test_a_busy_machine_is_detected_per_round_and_a_busy_series_is_kept_out(monkeypatch):
    """A round during which other programs used the CPUs is dropped whole (every alternative's block) and run again
    within the bound; past it the series are marked busy and stored unstable with the reason. The machine's counters
    are replaced by ones that move while chosen rounds run: seeded, whatever this machine does meanwhile."""
    from fwbench.measure import timing

    state = {"other": 0.0, "blocks": 0, "busy_rounds": set()}
    names = ("victim", "calm")

    def step():
        time.sleep(0.001)
        if state["blocks"] // len(names) in state["busy_rounds"]:
            state["other"] += 0.02  # another program used the CPUs far beyond the bound and its tick slack

    real_block = timing._block

    def block(fn, sync, steps, untimed=0, gc_clock=None, name=None):
        try:
            return real_block(fn, sync, steps, untimed, gc_clock, name)
        finally:
            state["blocks"] += 1

    monkeypatch.setattr(timing, "_block", block)
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: (state["other"], 0.0))
    monkeypatch.setattr(timing, "stolen_s", lambda: 0.0)
    monkeypatch.setattr(timing, "BUSY_WINDOW_S", 0.0)  # every round judged alone (windows: the next test)
    cfg = InterleaveConfig(
        block=2,
        block_warmup=0,
        min_samples=12,
        min_blocks=10,
        max_blocks=10,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=40,
        max_disturbed_share=0.2,
        min_redo=2,
    )
    fns = {n: step for n in names}
    state["busy_rounds"] = {2, 5}  # two busy rounds: dropped whole and made up for
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(0))
    for n in names:
        s = out[n]
        assert s.stable and not s.busy and s.attempts == 1
        assert (s.busy_dropped, s.busy_kept, s.blocks) == (2, 0, 10)  # both alternatives lost the same rounds
    # Busy throughout the timed rounds (and still busy after them): past the bound, stored unstable as measured
    # on a busy machine, without a second attempt that would measure the neighbours again.
    state.update(other=0.0, blocks=0, busy_rounds=set(range(10_000)))
    monkeypatch.setattr(timing, "_busy_now", lambda config: True)
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(0))
    for n in names:
        s = out[n]
        assert s.busy and not s.stable and s.attempts == 1 and s.problem.startswith("measured on a busy machine")
        assert s.problem.endswith("not measured again: the machine was still busy")
        assert s.busy_kept > 0 and s.disturbed_share <= 0.5
    # Quiet again after the first attempt: measured once more, and kept out only if still disturbed.
    state.update(other=0.0, blocks=0, busy_rounds=set(range(10_000)))
    monkeypatch.setattr(timing, "_busy_now", lambda config: False)
    out = measure_interleaved(fns, lambda _: None, cfg, random.Random(0))
    assert all(out[n].attempts == 2 and not out[n].stable for n in names)


def test_short_rounds_are_judged_in_windows_long_enough_for_the_kernels_ticks(monkeypatch):
    """Rounds of a few milliseconds are judged together, in windows of at least BUSY_WINDOW_S: one busy moment
    drops the whole window (all its rounds, every alternative's blocks), which is then measured again."""
    from fwbench.measure import timing

    state = {"other": 0.0, "rounds": 0, "busy": True}

    def step():
        time.sleep(0.001)

    real_block = timing._block

    def block(fn, sync, steps, untimed=0, gc_clock=None, name=None):
        try:
            return real_block(fn, sync, steps, untimed, gc_clock, name)
        finally:
            if name == "a":
                state["rounds"] += 1
                if state["busy"] and state["rounds"] == 3:  # one busy moment, early on
                    state["other"] += 1.0

    monkeypatch.setattr(timing, "_block", block)
    monkeypatch.setattr(timing, "_others_cpu_s", lambda: (state["other"], 0.0))
    monkeypatch.setattr(timing, "stolen_s", lambda: 0.0)
    cfg = InterleaveConfig(
        block=2,
        block_warmup=0,
        min_samples=40,
        min_blocks=20,
        max_blocks=20,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=60,
        max_disturbed_share=0.2,
        min_redo=2,
    )
    out = measure_interleaved({"a": step, "b": step}, lambda _: None, cfg, random.Random(0))
    a, b = out["a"], out["b"]
    assert a.attempts == 1, a.remeasured_because
    assert a.busy_dropped == b.busy_dropped > 1  # the whole window of short rounds, not just the one
    assert a.blocks == b.blocks == 20 and not a.busy and a.stable


def test_a_warm_up_on_a_busy_machine_is_cut_short(monkeypatch):
    """A step 250x slower on a busy machine would warm up for minutes: after more than min_redo busy warm-up
    blocks in a row the warm-up stops and the series is marked (then kept out, with the reason)."""
    from fwbench.measure import timing

    state = {"other": 0.0}

    def step():
        time.sleep(0.001)
        state["other"] += 0.02

    monkeypatch.setattr(timing, "_others_cpu_s", lambda: (state["other"], 0.0))
    monkeypatch.setattr(timing, "_busy_now", lambda config: True)
    cfg = InterleaveConfig(
        block=2,
        block_warmup=0,
        min_samples=4,
        min_blocks=2,
        max_blocks=2,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=400,
        min_redo=2,
    )
    calls = {"n": 0}

    def counted():
        calls["n"] += 1
        step()

    out = measure_interleaved({"a": counted}, lambda _: None, cfg, random.Random(0))
    a = out["a"]
    assert a.busy_warmup and not a.stable and a.discarded <= 2 * (cfg.min_redo + 2)
    assert "warm-up was cut short" in a.problem and calls["n"] < 60


def test_a_real_neighbour_makes_rounds_busy_and_a_quiet_machine_does_not(monkeypatch):
    """Real counters: another program (not this process's child) keeping a core busy is seen in the rounds; the
    same measurement without it sees (almost) no busy round. No measured value is asserted beyond the rule's
    own direction."""
    import subprocess
    import sys

    from fwbench.measure.threads import machine_cpu

    if machine_cpu() is None:
        pytest.skip("no /proc/stat here")
    monkeypatch.setattr(_timing, "_others_cpu_s", _REAL_OTHERS)
    cfg = InterleaveConfig(
        block=4,
        block_warmup=0,
        min_samples=20,
        min_blocks=10,
        max_blocks=10,
        max_time_s=0.01,
        warmup_min=2,
        warmup_max=4,
        max_disturbed_share=0.2,
        min_redo=2,
    )
    fns = {"a": _sleeper(0.004), "b": _sleeper(0.004)}  # sleeping steps: the neighbour always finds a free core
    # This test is about neighbours: the hypervisor's steal (dropped blocks of its own) is left out.
    monkeypatch.setattr(_timing, "stolen_s", lambda: None)
    # Under make test the other half of the suite may run during the quiet measurement: what other programs used
    # meanwhile is read around it, and the quiet half is judged only where they used (almost) nothing.
    before, started = _REAL_OTHERS(), time.perf_counter()
    quiet = measure_interleaved(fns, lambda _: None, cfg, random.Random(0))
    after, took = _REAL_OTHERS(), time.perf_counter() - started
    others_cpus = ((after[0] - before[0]) - (after[1] - before[1])) / took
    burn = "import time\nend = time.time() + 20\nwhile time.time() < end: pass"
    out = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c '{burn}' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(out.stdout)
    try:
        time.sleep(0.3)
        busy = measure_interleaved(fns, lambda _: None, cfg, random.Random(0))
    finally:
        os.kill(pid, 9)
    # Busy all along: the bound is reached and both series are marked (and kept out of verdicts); quiet, not.
    assert busy["a"].busy and busy["b"].busy and busy["a"].busy_dropped >= 2
    if others_cpus < cfg.busy_cpus * cfg.max_disturbed_share:  # fewer busy windows than the bound allows
        assert not quiet["a"].busy and not quiet["b"].busy


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux run-queue accounting")
def test_the_run_queue_counter_sees_a_competing_process():
    """Real counters, real competitors: a CPU-bound thread pinned to one CPU with two busy processes pinned beside it
    waits for the CPU for much of the time; alone, far less. No measured value is asserted, only that the counter
    moves with contention (the direction the busy rule relies on)."""
    import subprocess
    import sys
    import threading

    from fwbench.measure.threads import run_delay_s

    if run_delay_s() is None:
        pytest.skip("no schedstat on this kernel")

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity here")
    cpu = min(os.sched_getaffinity(0))

    def spin(seconds, out):  # pinned to one CPU: the competitors below are pinned there too, so the test does not
        os.sched_setaffinity(0, {cpu})  # depend on what else the machine runs (make test runs two suites at once)
        before, start = run_delay_s(), time.perf_counter()
        x = 0
        while time.perf_counter() < start + seconds:
            x += 1
        out.append((run_delay_s() - before) / (time.perf_counter() - start))

    def waited(seconds=0.5):
        out = []
        t = threading.Thread(target=spin, args=(seconds, out))
        t.start()
        t.join()
        return out[0]

    alone = waited()
    burn = "import time\nend=time.time()+3\nwhile time.time()<end: pass"
    burners = [
        subprocess.Popen([sys.executable, "-c", burn], preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        for _ in range(2)
    ]
    try:
        time.sleep(0.2)
        contended = waited()
    finally:
        for b in burners:
            b.kill()
            b.wait()
    # Two competitors on the one CPU leave the thread about a third of it: it waits for most of the time. Alone it
    # shares that CPU at most with what the scheduler did not move to another one.
    assert contended > 0.4 and contended > alone + 0.15
