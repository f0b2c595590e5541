"""The state-dependent finite-d coefficient of the mode system (docs/integrator.md §18).

The state path is checked against the constant path where both must agree (SGD's b(P) = P + Eε² has
2b'(P) = 2 = h), against scipy's solve_ivp on the numpy right-hand side where it is genuinely
P-dependent, and for bad input.
"""
import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.solvers.modes import ModeSystem, StateCurvature
from hdlimits.solvers.solve import solve_modes

from .coefs import h_decaying, h_two

T = np.linspace(0, 4, 9)


def _sgd_system():
    prob = hd.Problem.power_law(d=200, alpha=1.0, beta=0.0, noise=hd.noise.gaussian(0.5), seed=0)
    return reduce(prob, hd.SGD(1.5))        # h = 2 (B = 1)


def _reference(system, t):
    sol = solve_ivp(system.rhs, (0.0, float(t[-1])), system.D0, method="DOP853", rtol=1e-12,
                    atol=1e-22, t_eval=t)
    assert sol.success
    return system.kappa @ sol.y


@pytest.mark.parametrize("method", ["ode", "recursion"])
@pytest.mark.parametrize("state", [StateCurvature(b_slope=2.0), StateCurvature(func_weight=1.0, func=h_two),
                                   StateCurvature(constant=1.0, a_weight=1.0)], ids=["2b'", "func", "a"])
def test_state_path_reproduces_the_constant_path(method, state):
    """2b'(P) = 2, h(P) ≡ 2 and 1 + a(P) = 2 are SGD's constant h: the state path (iterated node values,
    b' by central differences) must give the constant path's curve to the difference tolerance."""
    base = _sgd_system()
    var = dataclasses.replace(base, curvature=0.0, curvature_state=state)
    P0 = solve_modes(base, T, method=method, rtol=1e-10).excess_risk
    P1 = solve_modes(var, T, method=method, rtol=1e-10).excess_risk
    assert np.max(np.abs(P1 / P0 - 1)) <= 1e-7
    # and the coefficient matters: h = 0 is far away at this d (so the agreement above is not vacuous)
    P2 = solve_modes(dataclasses.replace(base, curvature=0.0), T, method=method).excess_risk
    assert np.max(np.abs(P2 / P0 - 1)) >= 1e-2


def test_curvature_function_argument():
    """ModeSystem(curvature=<numba h(P, c)>) stores it as the state part."""
    base = _sgd_system()
    sys_f = ModeSystem(base.kappa, base.weights, base.D0, base.d, base.schedule, base.a, base.b,
                       base.coef_params, h_two, base.noise_second_moment)
    assert sys_f.curvature == 0.0 and sys_f.curvature_state.func is h_two
    P0 = solve_modes(base, T, rtol=1e-10).excess_risk
    assert np.max(np.abs(solve_modes(sys_f, T, rtol=1e-10).excess_risk / P0 - 1)) <= 1e-9


@pytest.mark.parametrize("state", [StateCurvature(func_weight=1.0, func=h_decaying),
                                   StateCurvature(b_slope=1.0, drift_a=2.0, drift_b=-1.0)],
                         ids=["func", "drift"])
def test_p_dependent_coefficient_matches_solve_ivp(state):
    base = _sgd_system()
    # h_decaying reads c[0]: SGD's parameter array holds E ε² = 0.25 there
    system = dataclasses.replace(base, curvature=0.5, curvature_state=state, a_is_constant=False)
    th = solve_modes(system, T, rtol=1e-10)
    assert th.ok
    assert np.max(np.abs(2 * th.excess_risk / _reference(system, T) - 1)) <= 1e-7


@pytest.mark.parametrize("kwargs, word", [({"b_slope": "x"}, "b_slope"), ({"drift_a": np.inf}, "drift_a"),
                                          ({"a_weight": "1.0"}, "a_weight"), ({"constant": None}, "constant"),
                                          ({"func_weight": 1.0}, "func"), ({"func": len}, "func")])
def test_bad_state_curvature(kwargs, word):
    with pytest.raises(ValueError, match=word):
        StateCurvature(**kwargs)


def test_bad_curvature_argument():
    base = _sgd_system()
    with pytest.raises(ValueError, match="curvature"):
        dataclasses.replace(base, curvature=lambda P, c: 1.0)
    with pytest.raises(ValueError, match="curvature_state"):
        dataclasses.replace(base, curvature_state=2.0)
