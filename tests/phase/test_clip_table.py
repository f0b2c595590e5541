"""Tables of μ_c, ν_c for the clipping diagram (hdlimits/phase/clip_table.py) against the engine's own
compiled functions, and the diagram's direct integrator calls against solve_modes
(docs/clipping.md, Cost of the diagram)."""
import math

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.phase import clip_table, clip_vs_sgd
from hdlimits.reductions import reduce


def _problem(df, d=40):
    base = hd.Problem.power_law(d=d, alpha=1.0, beta=1.0, seed=0)
    law = hd.noise.gaussian(0.5) if math.isinf(df) else hd.noise.student_t(df, 0.5)
    return hd.Problem.from_spectrum(base.eigenvalues, base.initial_error, law, base.basis)


@pytest.mark.parametrize("df", [2.2, 4.0, 32.0, math.inf])
def test_table_matches_engine_functions(df):
    p = _problem(df)
    s = math.sqrt(p.trace)
    worst = np.zeros(3)
    for c in (0.03, 1.0, 30.0, clip_vs_sgd._NO_CLIP):
        system = reduce(p, hd.ClippedSGD(lr=1.0, clip=c * s), t_max=10.0)
        a, b, par = system.a, system.b, system.coef_params
        lo, hi = clip_table.p_range(c, system.P0, system.noise_second_moment)
        cp = clip_table.tabulate(a, b, par, lo, hi)
        # off-node points over the whole table (the grid's nodes are reproduced exactly)
        for P in np.exp(np.linspace(math.log(lo), math.log(hi), 997)):
            e = 1e-4 * P       # the central difference the integrators take for h = 2b'(P)
            slope_t = (clip_table.table_b(P + e, cp) - clip_table.table_b(P - e, cp)) / (2 * e)
            slope_x = (b(P + e, par) - b(P - e, par)) / (2 * e)
            worst = np.maximum(worst, [abs(clip_table.table_a(P, cp) / a(P, par) - 1),
                                       abs(clip_table.table_b(P, cp) / b(P, par) - 1),
                                       abs(slope_t - slope_x) * P / b(P, par)])
    print(df, "worst relative error of mu, nu and of dlog nu / dlog P:", worst)
    # measured ≤ 4.7e-7, 8.1e-7, 2.3e-5 (dx = 0.15: a fourth-order interpolant, error ~ dx⁴/384 · y'''')
    assert worst[0] < 2e-6 and worst[1] < 3e-6 and worst[2] < 1e-4


def test_table_extrapolates_power_laws():
    """Beyond the table: log-log lines; ν → c² and μ ∝ P^{-1/2} at large P, both flat as P → 0."""
    p = _problem(3.0)
    c = 0.5
    system = reduce(p, hd.ClippedSGD(lr=1.0, clip=c * math.sqrt(p.trace)), t_max=10.0)
    lo, hi = clip_table.p_range(c, system.P0, system.noise_second_moment)
    cp = clip_table.tabulate(system.a, system.b, system.coef_params, lo, hi)
    for P in (lo / 50, hi * 50):
        assert clip_table.table_a(P, cp) == pytest.approx(system.a(P, system.coef_params), rel=1e-4)
        assert clip_table.table_b(P, cp) == pytest.approx(system.b(P, system.coef_params), rel=1e-4)
    assert clip_table.table_a(0.0, cp) == pytest.approx(system.a(lo, system.coef_params), rel=1e-12)


def test_bad_tables_are_refused():
    p = _problem(4.0)
    system = reduce(p, hd.ClippedSGD(lr=1.0, clip=math.sqrt(p.trace)), t_max=10.0)
    with pytest.raises(ValueError, match="positive and finite"):
        clip_table.tabulate(system.a, lambda P, c: 0.0, system.coef_params, 1e-3, 1e3)
    sched = reduce(p, hd.ClippedSGD(lr=1.0, clip=lambda t: (1.0 + t) * math.sqrt(p.trace)), t_max=10.0)
    with pytest.raises(ValueError, match="constant threshold"):
        clip_table.tabulated_system(sched, 1.0)


def test_tail_parameters_equal_reduce():
    """The diagram rebinds the threshold slot of one reduced system per tail: the same parameter array
    as reducing clipped SGD at that threshold."""
    p = _problem(2.5)
    s = math.sqrt(p.trace)
    tail = clip_vs_sgd._tail(p, 5.0, (0.1, 0.3), "test-token")
    for c in (0.05, 2.0):
        opt = hd.ClippedSGD(lr=1.0, clip=c * s)
        exact, table = tail.at(opt.residual_threshold(p))      # what the diagram passes
        ref = reduce(p, opt, t_max=5.0)
        assert np.array_equal(exact.coef_params, ref.coef_params)
        assert table.a is clip_table.table_a and table.curvature_state == ref.curvature_state


def test_runner_equals_solve_modes():
    """The direct integrator calls give solve_modes' numbers bit for bit, and a diverged lr is inf."""
    p = _problem(4.0)
    c = 0.3
    system = clip_table.tabulated_system(
        reduce(p, hd.ClippedSGD(lr=1.0, clip=c * math.sqrt(p.trace)), t_max=5.0), c)
    run = clip_vs_sgd._Runner(system, 5.0)
    for lr in (0.05, 0.7, 3.0):
        assert run(lr) == clip_vs_sgd._final_excess(system, lr, 5.0)
    unclipped = clip_table.tabulated_system(reduce(p, clip_vs_sgd._unclipped(p), t_max=5.0),
                                            clip_vs_sgd._NO_CLIP)
    g_c = hd.critical_lr(p, hd.SGD(lr=1.0), finite_d=True)
    assert clip_vs_sgd._final_excess(unclipped, 3 * g_c, 5.0) == math.inf
    assert clip_vs_sgd._Runner(unclipped, 5.0)(3 * g_c) == math.inf


def test_p_range_uses_the_positive_scales():
    # P0 = 0 (start at the optimum) and an infinite noise moment do not enter the range
    assert clip_table.p_range(1.0, 0.0, math.inf) == pytest.approx((1e-6, 1e8))
    assert clip_table.p_range(0.1, 4.0, 0.25) == pytest.approx((1e-8, 4e8))


def test_bad_table_arguments_name_the_parameter():
    """Before: p_range(nan, nan, nan) failed in min() of an empty list, tabulate(dx=0) with
    ZeroDivisionError, P_lo > P_hi gave a table with a negative spacing, a tiny dx a 100 GiB allocation."""
    for args, name in [((math.nan, 1.0, 1.0), "c"), ((1.0, -1.0, 1.0), "P0"), ((1.0, 1.0, "1"), "m2"),
                       ((0.0, 0.0, math.inf), "one of")]:
        with pytest.raises(ValueError, match=name):
            clip_table.p_range(*args)

    def f(P, par):
        return 1.0 / (1.0 + P)

    par = np.zeros(1)
    for args, name in [((1e3, 1e-3), "P_hi"), ((0.0, 1.0), "P_lo"), ((1e-3, math.inf), "P_hi"),
                       ((1e-3, 1e3, 0.0), "dx"), ((1e-3, 1e3, -0.1), "dx"), ((1e-3, 1e3, 1e-9), "dx must be ≥")]:
        with pytest.raises(ValueError, match=name):
            clip_table.tabulate(f, f, par, *args)
    p = _problem(4.0)
    system = reduce(p, hd.ClippedSGD(lr=1.0, clip=math.sqrt(p.trace)), t_max=10.0)
    for c in (0.0, math.nan, "1"):
        with pytest.raises(ValueError, match="c must"):
            clip_table.tabulated_system(system, c)
    with pytest.raises(ValueError, match="system must be a ModeSystem"):
        clip_table.tabulated_system("x", 1.0)
