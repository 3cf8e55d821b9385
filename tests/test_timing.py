"""The timer must wait for asynchronous work, keep the first call apart, and respect its budget."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fwbench.timing import TimerConfig, measure

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

    x = jnp.ones((1200, 1200))
    f = jax.jit(lambda a: (a @ a) @ a)
    f(x).block_until_ready()
    # Reference: converting to NumPy cannot return before the result exists.
    blocking = measure(lambda: np.asarray(f(x)), lambda _: None, CFG).summary().median
    synced = measure(lambda: f(x), jax.block_until_ready, CFG).summary().median
    dispatch_only = measure(lambda: f(x), lambda out: None, CFG).summary().median
    f(x).block_until_ready()  # drain what the unsynced calls queued
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
