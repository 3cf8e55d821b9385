"""Statistics on synthetic samples whose answers are known by construction."""

import math

import numpy as np
import pytest

from fwbench.measure import stats


def test_summary_of_known_data():
    s = stats.summarize([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert s.median == 5 and s.q25 == 3 and s.q75 == 7 and s.iqr == 4
    assert s.min == 1 and s.max == 9 and s.n == 9
    assert s.ci_low <= s.median <= s.ci_high
    assert s.cv == pytest.approx(np.std(np.arange(1, 10), ddof=1) / 5)


def test_bootstrap_is_deterministic_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small, large = rng.normal(1.0, 0.1, 20), rng.normal(1.0, 0.1, 2000)
    assert stats.bootstrap_ci(small) == stats.bootstrap_ci(small)
    lo_s, hi_s = stats.bootstrap_ci(small)
    lo_l, hi_l = stats.bootstrap_ci(large)
    assert hi_l - lo_l < hi_s - lo_s
    assert lo_l < 1.0 < hi_l


def test_p_beyond_agrees_with_the_interval_at_one_test():
    rng = np.random.default_rng(2)
    for shift in (1.0, 1.04, 1.08, 1.2, 0.8):
        base = {f"p{i}": list(rng.normal(1.0, 0.02, 30) * rng.lognormal(0, 0.03)) for i in range(4)}
        cand = {p: list(np.asarray(v) / shift) for p, v in base.items()}
        c = stats.compare(base, cand)
        assert (c.p_beyond("faster") < 0.025) == (c.verdict == "faster"), shift
        assert (c.p_beyond("slower") < 0.025) == (c.verdict == "slower"), shift
    with pytest.raises(ValueError):
        c.p_beyond("sideways")


def test_p_beyond_margin_reads_arrays_as_each_comparison_alone():
    rng = np.random.default_rng(3)
    comparisons = []
    for shift in (1.0, 1.03, 1.06, 1.2, 0.7):
        base = {f"p{i}": list(rng.normal(1.0, 0.02, 20) * rng.lognormal(0, 0.03)) for i in range(3)}
        comparisons.append(stats.compare(base, {p: list(np.asarray(v) / shift) for p, v in base.items()}))
    made = dict(ratio=1.5, ci_low=1.5, ci_high=1.5, n_baseline=3, n_candidate=3, paired=True, verdict="faster")
    comparisons.append(stats.Comparison(**made, log_ratio=math.log(1.5), se=0.0, df=3.0))  # identical processes
    comparisons.append(stats.Comparison(**made))  # nothing measured: no log ratio
    comparisons.append(stats.Comparison(**made, log_ratio=math.log(1.5), se=0.1, df=math.nan))  # df unknown
    faster, slower = stats.p_beyond_margin(*zip(*((c.log_ratio, c.se, c.df) for c in comparisons)))
    assert list(faster) == [c.p_beyond("faster") for c in comparisons]
    assert list(slower) == [c.p_beyond("slower") for c in comparisons]
    assert (faster[-3], slower[-3]) == (0.0, 1.0) and (faster[-2], slower[-2]) == (1.0, 1.0) == (faster[-1], slower[-1])
    assert 0.0 < faster[3] < 0.025 and slower[3] > 0.5  # 1.2x, far beyond the margin


def test_holm_rejects_in_order_and_stops_at_the_first_failure():
    assert stats.holm([0.001, 0.02, 0.04], 0.05) == [True, True, True]
    assert stats.holm([0.02, 0.02, 0.02], 0.05) == [False, False, False]  # 0.02 > 0.05/3
    assert stats.holm([0.04, 0.001, 0.3], 0.05) == [False, True, False]
    assert stats.holm([], 0.05) == []


def test_any_of_k_corrected_keeps_its_false_positive_rate():
    """Three identical rivals: 'one of them is faster' uncorrected fires far more often than one test at the
    same level; with Holm it stays at or below the nominal rate (seeded simulation, no measured value)."""
    rng = np.random.default_rng(7)
    alpha, trials, raw, corrected = 0.025, 1500, 0, 0
    for _ in range(trials):
        ps = []
        for _ in range(3):
            base = {f"a{i}": [float(rng.lognormal(0, 0.1))] for i in range(4)}
            cand = {f"b{i}": [float(rng.lognormal(0, 0.1))] for i in range(4)}
            ps.append(stats.compare(base, cand, margin=0.0).p_beyond("faster", margin=0.0))
        raw += min(ps) < alpha
        corrected += any(stats.holm(ps, alpha))
    assert raw / trials > 1.8 * alpha
    assert corrected / trials <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)


def test_binomial_upper_bound():
    assert 0.2 < stats.binomial_upper(0, 12) < 0.25  # no false positive in 12 is compatible with 22%
    assert stats.binomial_upper(2, 200) < 0.04
    assert stats.binomial_upper(5, 5) == 1.0 and stats.binomial_upper(0, 0) == 1.0
    # Coverage: the bound lies above the true rate in at least 95% of seeded experiments.
    rng = np.random.default_rng(3)
    covered = sum(stats.binomial_upper(int(rng.binomial(60, 0.05)), 60) >= 0.05 for _ in range(2000))
    assert covered / 2000 >= 0.95


@pytest.mark.parametrize("processes", [2, 3, 4])
def test_interval_coverage_with_a_heavy_tailed_process_effect(processes):
    """The unpaired interval between two identical cells, each process shifted by a heavy-tailed (Student t, 3
    degrees of freedom) process effect: its real coverage of the true ratio (1) at 2, 3 and 4 processes per
    side. Welch's t is the rule every unpaired verdict uses; it must not claim more confidence than it has."""
    rng = np.random.default_rng(11 + processes)
    trials, covered = 1500, 0
    for _ in range(trials):

        def cell(tag):
            return {
                f"{tag}{i}": list(np.exp(0.05 * rng.standard_t(3) + rng.normal(0, 0.02, 20))) for i in range(processes)
            }

        c = stats.compare(cell("a"), cell("b"))
        covered += c.ci_low <= 1.0 <= c.ci_high
    assert covered / trials >= 0.93


def test_break_even():
    # eager: 1 s first + 1 s/step; graph: 11 s first + 0.5 s/step -> graph total is lower from step 21 on
    n = stats.break_even_steps(1.0, 1.0, 11.0, 0.5)
    assert n == 21
    assert 1.0 + (n - 1) * 1.0 >= 11.0 + (n - 1) * 0.5
    assert stats.break_even_steps(1.0, 1.0, 5.0, 1.0) == math.inf
    assert stats.break_even_steps(2.0, 1.0, 1.0, 1.0) == 1.0  # cheaper first call, equal steps
    assert stats.break_even_steps(2.0, 1.0, 1.0, 2.0) == math.inf  # ahead at first, behind for good
    assert stats.break_even_steps(1.0, 1.0, 1.0, 2.0) == math.inf


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_rejects_bad_samples(bad):
    with pytest.raises(ValueError):
        stats.summarize(bad)


# ---- comparisons from per-process estimates (synthetic, seeded) ------------------------------------


def _processes(rng, n_proc: int, steps: int, centre: float, between: float, within: float, tag: str = "p") -> dict:
    """n_proc processes whose own speed scatters `between` (log sd) around `centre`, steps `within` inside each."""
    return {
        f"{tag}{i}": list(centre * np.exp(rng.normal(0, between)) * np.exp(rng.normal(0, within, steps)))
        for i in range(n_proc)
    }


def test_aa_with_20_percent_between_process_spread_and_two_processes_is_inconclusive():
    rng = np.random.default_rng(14)
    calls = []
    for _ in range(200):
        a = _processes(rng, 2, 100, 1e-3, 0.20, 0.02, "a")
        b = _processes(rng, 2, 100, 1e-3, 0.20, 0.02, "b")
        calls.append(stats.compare(a, b).verdict)
    # Pooling steps would call most of these faster/slower; per-process estimates must not.
    assert calls.count("faster") + calls.count("slower") <= 0.05 * len(calls)
    assert calls.count("inconclusive") >= 0.9 * len(calls)


def test_a_real_30_percent_difference_with_low_noise_is_found():
    rng = np.random.default_rng(30)
    slow = _processes(rng, 4, 50, 1.3e-3, 0.01, 0.02, "s")
    fast = _processes(rng, 4, 50, 1.0e-3, 0.01, 0.02, "f")
    c = stats.compare(slow, fast)
    assert c.verdict == "faster" and 1.2 < c.ratio < 1.4 and not c.paired
    assert stats.compare(fast, slow).verdict == "slower"


def test_a_one_percent_difference_is_equivalent():
    rng = np.random.default_rng(1)
    a = _processes(rng, 6, 100, 1.01e-3, 0.005, 0.02, "a")
    b = _processes(rng, 6, 100, 1.00e-3, 0.005, 0.02, "b")
    assert stats.compare(a, b).verdict == "equivalent"


def test_paired_comparison_cancels_what_a_process_shares():
    rng = np.random.default_rng(5)
    eager, graph = {}, {}
    for p in range(4):
        speed = np.exp(rng.normal(0, 0.3))  # processes differ a lot; both variants of one process alike
        eager[p] = list(2e-3 * speed * np.exp(rng.normal(0, 0.02, 60)))
        graph[p] = list(1e-3 * speed * np.exp(rng.normal(0, 0.02, 60)))
    paired = stats.compare(eager, graph)
    unpaired = stats.compare(eager, {f"x{p}": v for p, v in graph.items()})
    assert paired.paired and not unpaired.paired
    assert paired.verdict == "faster" and 1.9 < paired.ratio < 2.1
    assert (paired.ci_high - paired.ci_low) < (unpaired.ci_high - unpaired.ci_low) / 3


def test_aa_false_positive_rate_and_calibration_over_many_seeded_pairs():
    rng = np.random.default_rng(7)
    verdicts, excludes_one = [], 0
    for _ in range(400):
        a = _processes(rng, 4, 40, 1e-3, 0.05, 0.05, "a")
        b = _processes(rng, 4, 40, 1e-3, 0.05, 0.05, "b")
        c = stats.compare(a, b)
        verdicts.append(c.verdict)
        excludes_one += c.ci_low > 1 or c.ci_high < 1
    assert excludes_one / 400 < 0.08  # a calibrated 95% interval misses about 5% of the time
    assert (verdicts.count("faster") + verdicts.count("slower")) / 400 <= 0.05


@pytest.mark.parametrize(
    "lo, hi, want",
    [
        (1.10, 1.30, "faster"),
        (0.70, 0.90, "slower"),
        (0.97, 1.03, "equivalent"),
        (1.02, 1.09, "inconclusive"),
        (0.5, 2.0, "inconclusive"),
        (0.0, math.inf, "inconclusive"),
    ],
)
def test_classify_against_the_margin(lo, hi, want):
    assert stats.classify(lo, hi) == want


def test_one_process_gives_no_interval():
    est, lo, hi = stats.cell_estimate({"p0": [1e-3, 1.1e-3, 0.9e-3]})
    assert est == pytest.approx(1e-3) and lo == 0 and hi == math.inf
    assert stats.compare({"a": [1.0, 1.0]}, {"b": [2.0, 2.0]}).verdict == "inconclusive"


def test_variance_components_and_plan_recover_the_levels():
    rng = np.random.default_rng(3)
    cell = _processes(rng, 40, 200, 1e-3, 0.10, 0.05)
    v = stats.variance_components(cell)
    assert v.within == pytest.approx(0.05**2, rel=0.15)
    assert v.between == pytest.approx(0.10**2, rel=0.5)
    cheap_steps = stats.plan(v, process_cost_s=5.0, step_cost_s=1e-3)
    dear_steps = stats.plan(v, process_cost_s=5.0, step_cost_s=1.0)
    assert cheap_steps["steps_per_process"] > dear_steps["steps_per_process"]
    assert cheap_steps["processes"] >= 2


def test_an_interval_wider_than_a_float_is_unbounded_not_a_crash():
    """Two versions of a cell, one process a hundred times slower than its twin (a level shift under load), at
    the Bonferroni level the changes chapter uses over hundreds of cells: the ratio's interval passes a float's
    range. It must come back unbounded and inconclusive (it crashed the nightly's book with OverflowError)."""
    rng = np.random.default_rng(7)
    old = {"p0": rng.normal(2.3e-4, 1e-6, 50), "p1": rng.normal(2.4e-2, 1e-4, 50)}
    new = {"q0": rng.normal(3.9e-4, 1e-6, 50), "q1": rng.normal(2.7e-4, 1e-6, 50)}
    c = stats.compare(new, old, level=1 - 0.05 / 2700)
    assert c.ci_high == math.inf and 0 <= c.ci_low < 1 and c.verdict == "inconclusive"
    est, lo, hi = stats.cell_estimate({"p0": [1e-300], "p1": [1e300]}, level=0.999999)
    assert math.isfinite(est) and lo == 0 and hi == math.inf


def _paired(rng, n: int, ratio: float, sd: float) -> tuple[dict, dict]:
    """`n` paired processes whose per-process log ratio scatters with `sd` around log(`ratio`)."""
    base = {f"p{i}": [1.0] for i in range(n)}
    cand = {p: [math.exp(-math.log(ratio) - sd * rng.standard_normal())] for p in base}
    return base, cand


def test_a_rerun_draws_each_comparison_where_a_rerun_of_the_same_measurement_would_fall():
    base, cand = _paired(np.random.default_rng(3), 10, 1.2, 0.05)
    c = stats.compare(base, cand)
    n = 4000
    args = ([c.log_ratio] * n, [c.se] * n, [c.df] * n)
    draws = stats.rerun(*args, np.random.default_rng(7))
    again = stats.rerun(*args, np.random.default_rng(7))
    assert all(np.array_equal(draws[k], again[k]) for k in draws)  # seeded: the same store gives the same reruns
    # The log ratio centred on the measured one with sqrt(2) standard errors (t-tailed with 9 degrees of freedom:
    # variance df / (df - 2)), and the standard error unbiased in its square.
    want_sd = math.sqrt(2) * c.se * math.sqrt(9 / 7)
    assert abs(draws["log_ratio"].mean() - c.log_ratio) < 4 * want_sd / math.sqrt(n)
    assert abs(draws["log_ratio"].std() / want_sd - 1) < 0.05
    assert abs(np.mean(draws["se"] ** 2) / c.se**2 - 1) < 0.05
    # Each draw reads as `compare` would read a comparison with that estimate and standard error.
    for i in range(50):
        d = stats.Comparison(1, 0, 0, 10, 10, True, "", draws["log_ratio"][i], draws["se"][i], c.df)
        lo, hi = draws["speedup_ci_low"][i], draws["speedup_ci_high"][i]
        assert lo < draws["speedup"][i] < hi and draws["verdict"][i] == stats.classify(lo, hi)
        assert math.isclose(draws["p_faster"][i], d.p_beyond("faster"), rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(draws["p_slower"][i], d.p_beyond("slower"), rel_tol=1e-9, abs_tol=1e-15)
        half = math.log(hi / lo) / 2
        assert math.isclose(half, stats._t(stats.LEVEL, c.df) * draws["se"][i], rel_tol=1e-9)


def test_a_rerun_with_fewer_processes_draws_from_its_own_wider_interval():
    n, se, df = 4000, 0.02, 9.0
    rse, rdf = 0.04, 4.0  # the rerun's own: half the processes
    draws = stats.rerun([0.3] * n, [se] * n, [df] * n, np.random.default_rng(5), rerun_se=[rse] * n, rerun_df=[rdf] * n)
    # Centred on the measured estimate, spread by both errors (t-tailed with the smaller df: variance df / (df - 2)).
    want_sd = math.sqrt(se**2 + rse**2) * math.sqrt(rdf / (rdf - 2))
    assert abs(draws["log_ratio"].mean() - 0.3) < 4 * want_sd / math.sqrt(n)
    assert abs(draws["log_ratio"].std() / want_sd - 1) < 0.1
    assert abs(np.mean(draws["se"] ** 2) / rse**2 - 1) < 0.1
    half = np.log(draws["speedup_ci_high"] / draws["speedup_ci_low"]) / 2
    assert np.allclose(half, stats._t(stats.LEVEL, rdf) * draws["se"])  # the rerun's interval, at its own df


def test_a_rerun_leaves_a_comparison_without_noise_or_interval_as_it_is():
    noiseless = stats.compare({p: [1.0] for p in "abc"}, {p: [0.5] for p in "abc"})
    lone = stats.compare({"a": [1.0]}, {"b": [0.5]})
    drawn = stats.rerun(
        [noiseless.log_ratio, lone.log_ratio],
        [noiseless.se, lone.se],
        [noiseless.df, lone.df],
        np.random.default_rng(1),
    )
    assert list(drawn["verdict"]) == [noiseless.verdict, lone.verdict] == ["faster", "inconclusive"]
    assert drawn["log_ratio"][0] == noiseless.log_ratio and drawn["speedup_ci_high"][1] == math.inf
    assert list(drawn["p_faster"]) == [noiseless.p_beyond("faster"), lone.p_beyond("faster")] == [0.0, 1.0]
