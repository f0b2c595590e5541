import math

import numpy as np
import pytest

from hdlimits.core import schedules as sch


def test_formulas():
    t = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 20.0])
    assert np.allclose(sch.constant(0.7)(t), 0.7)
    w = sch.linear_warmup(2.0, 1.0, start_factor=0.1)
    assert np.allclose(w(t), [0.2, 1.1, 2.0, 2.0, 2.0, 2.0])
    c = sch.cosine(1.0, 10.0, final_lr=0.1)
    assert c(0.0) == pytest.approx(1.0)
    assert c(5.0) == pytest.approx(0.55)
    assert c(10.0) == pytest.approx(0.1) and c(30.0) == pytest.approx(0.1)
    s = sch.step(1.0, [1.0, 5.0], factor=0.5)
    assert np.allclose(s(t), [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    p = sch.power_decay(1.0, t0=2.0, power=0.5)
    assert np.allclose(p(t), (1 + t / 2.0) ** -0.5)


def test_tabulated_callable_is_accurate():
    f = lambda t: 1.0 / (1.0 + np.sin(t) ** 2)  # noqa: E731
    tab = sch.as_schedule(f, t_max=10.0)
    tt = np.linspace(0, 10, 997)
    assert np.max(np.abs(tab(tt) - f(tt))) < 2e-5   # piecewise-linear table, h = 10/4096
    # a scalar-only callable works too
    g = lambda t: 0.5 + 0.1 * math.cos(t)  # noqa: E731
    assert sch.as_schedule(g, 3.0)(1.0) == pytest.approx(g(1.0), abs=1e-6)


def test_numba_evaluation_matches_python():
    s = sch.step(1.0, [1.0, 2.0], 0.3)
    kind, p = s.numba_args()
    for ti in [0.0, 0.99, 1.0, 1.5, 2.5]:
        assert sch.evaluate(kind, p, ti) == s(ti)


@pytest.mark.parametrize("call, word", [
    (lambda: sch.constant(0.0), "lr"),
    (lambda: sch.constant(float("inf")), "lr"),
    (lambda: sch.linear_warmup(1.0, -1.0), "warmup_time"),
    (lambda: sch.linear_warmup(1.0, 1.0, start_factor=2.0), "start_factor"),
    (lambda: sch.cosine(1.0, 0.0), "t_max"),
    (lambda: sch.cosine(1.0, 1.0, final_lr=2.0), "final_lr"),
    (lambda: sch.step(1.0, [-1.0]), "milestones"),
    (lambda: sch.power_decay(1.0, t0=0.0), "t0"),
    (lambda: sch.as_schedule(lambda t: -1.0 + 0 * t, 1.0), "lr schedule"),
])
def test_bad_inputs(call, word):
    with pytest.raises(ValueError, match=word):
        call()
