"""Modes that carry mass: ``P = Σ m_i κ_i D_i`` (ModeSystem.mass; docs/integrator.md)."""
import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hdlimits as hd
from hdlimits.solvers import coefficients as coef
from hdlimits.reductions import reduce
from hdlimits.solvers.modes import ModeSystem
from hdlimits.solvers.solve import solve_modes

from .coefs import a_inverse_sqrt, b_constant


def _run(system, t, method="ode", **kw):
    return solve_modes(system, t, method=method, store_modes=True, **kw)


def _sgd_system(kappa, D0, d, lr=1.0, batch=1, m2=0.09, mass=None):
    kappa = np.asarray(kappa, dtype=np.float64)
    return ModeSystem(kappa=kappa, weights=kappa / batch, D0=np.asarray(D0, dtype=np.float64), d=d,
                      schedule=hd.schedules.as_schedule(lr), a=coef.one,
                      b=coef.residual_second_moment, coef_params=np.array([m2]),
                      curvature=1.0 + 1.0 / batch, noise_second_moment=m2, mass=mass)


def _state_dependent(kappa, D0, d, lr=1.0, mass=None):
    """a(P) = 1/√(P + c0), b = c1 (the integrator's iterative path, as for clipped and sign SGD)."""
    kappa = np.asarray(kappa, dtype=np.float64)
    return ModeSystem(kappa=kappa, weights=kappa.copy(), D0=np.asarray(D0, dtype=np.float64), d=d,
                      schedule=hd.schedules.as_schedule(lr), a=a_inverse_sqrt, b=b_constant,
                      coef_params=np.array([0.09, 1.0]), curvature=0.0, noise_second_moment=0.09,
                      a_is_constant=False, mass=mass)


# --- (a) unit masses are the old system, bit for bit --------------------------------------------------

@pytest.mark.parametrize("method", ["ode", "recursion"])
@pytest.mark.parametrize("opt", [hd.SGD(lr=1.2, batch=2), hd.ClippedSGD(lr=1.0, clip=1.0),
                                 hd.SignSGD(lr=0.5)], ids=lambda o: o.name)
def test_unit_masses_are_bit_identical(opt, method):
    prob = hd.Problem.power_law(d=150, alpha=0.8, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)
    base = reduce(prob, opt, t_max=6.0)
    assert base.mass.dtype == np.float64 and np.array_equal(base.mass, np.ones(base.n_modes))
    ones = dataclasses.replace(base, mass=np.ones(base.n_modes))
    t = np.linspace(0, 6, 25)
    r0, r1 = _run(base, t, method), _run(ones, t, method)
    assert r0.ok and r1.ok
    assert np.array_equal(r0.risk, r1.risk) and np.array_equal(r0.modes, r1.modes)
    assert ones.P0 == base.P0 == float(np.dot(base.kappa, base.D0))


# --- (b) repeated eigenvalues merge into one massive mode ---------------------------------------------

_KAPPA = np.array([3.0, 3.0, 3.0, 1.0, 1.0, 0.5])
_D0 = np.array([0.2, 0.2, 0.2, 0.7, 0.7, 1.3])
_KEEP = np.array([0, 3, 5])
_MASS = np.array([3.0, 2.0, 1.0])


def _merged(system):
    """The same system with each run of repeated eigenvalues as one mode of that multiplicity."""
    return dataclasses.replace(system, kappa=system.kappa[_KEEP].copy(),
                               weights=system.weights[_KEEP].copy(), D0=system.D0[_KEEP].copy(),
                               mass=_MASS)


@pytest.mark.parametrize("method", ["ode", "recursion"])
@pytest.mark.parametrize("build", [
    lambda: _sgd_system(_KAPPA, _D0, d=6, lr=1.3, batch=2),
    lambda: _sgd_system(_KAPPA, _D0, d=6, lr=hd.schedules.cosine(1.5, 5.0)),
    lambda: _state_dependent(_KAPPA, _D0, d=6, lr=0.8),
], ids=["sgd", "sgd-cosine", "state-dependent"])
def test_repeated_eigenvalues_equal_merged_masses(build, method):
    full = build()
    merged = _merged(full)
    assert merged.d == full.d == 6 and merged.n_modes == 3
    assert merged.P0 == pytest.approx(full.P0, rel=1e-15)
    t = np.linspace(0, 5, 21)
    a, b = _run(full, t, method, rtol=1e-10), _run(merged, t, method, rtol=1e-10)
    assert a.ok and b.ok
    assert np.allclose(b.risk, a.risk, rtol=1e-12, atol=0)
    assert np.allclose(b.modes, a.modes[:, _KEEP], rtol=1e-12, atol=0)
    # the unmerged modes of one eigenvalue stay equal to each other
    assert np.allclose(a.modes[:, 0:3], a.modes[:, [0]], rtol=1e-13, atol=0)


def test_mass_changes_the_risk():
    """Control for the test above: the masses matter (dropping them gives another curve)."""
    full = _sgd_system(_KAPPA, _D0, d=6, lr=1.3)
    unit = dataclasses.replace(_merged(full), mass=None)
    t = np.linspace(0, 5, 6)
    assert np.max(np.abs(_run(unit, t).risk / _run(full, t).risk - 1)) > 0.1


# --- (c) quadrature-like, non-integer masses against solve_ivp ---------------------------------------

def _quadrature_system(build, n=24):
    """κ on Gauss–Legendre nodes of [0.05, 5] with the weights of ∫ κ^{-1/2} dκ as masses, scaled so
    that Σ m_i κ_i = d = 50 (tr K = d, docs/conventions.md)."""
    x, wq = np.polynomial.legendre.leggauss(n)
    lo, hi = 0.05, 5.0
    kappa = lo + (hi - lo) * (x + 1) / 2
    mass = wq * kappa ** -0.5
    mass *= 50.0 / np.dot(mass, kappa)
    D0 = 1.0 / (1.0 + kappa)
    return build(kappa, D0, mass)


@pytest.mark.parametrize("method_builder", [
    lambda k, D0, m: _sgd_system(k, D0, d=50, lr=1.2, batch=2, mass=m),
    lambda k, D0, m: _sgd_system(k, D0, d=50, lr=hd.schedules.step(1.0, [2.0], 0.3), mass=m),
    lambda k, D0, m: _state_dependent(k, D0, d=50, lr=1.0, mass=m),
], ids=["sgd", "sgd-step", "state-dependent"])
def test_non_integer_masses_match_solve_ivp(method_builder):
    system = _quadrature_system(method_builder)
    assert not np.all(system.mass == np.round(system.mass))
    t = np.linspace(0, 6, 25)
    th = _run(system, t, rtol=1e-10)
    assert th.ok, th.status
    sol = solve_ivp(system.rhs, (0.0, 6.0), system.D0, method="DOP853", rtol=1e-12, atol=1e-22,
                    t_eval=t)
    assert sol.success
    P_ref = system.P_of(sol.y.T)
    assert np.max(np.abs(2 * th.excess_risk / P_ref - 1)) <= 1e-7
    assert np.max(np.abs(th.modes / sol.y.T - 1)) <= 1e-7


def test_rhs_and_P_use_the_masses():
    system = _sgd_system([2.0, 1.0], [1.0, 3.0], d=10, lr=1.0, m2=0.0, mass=[0.5, 2.0])
    assert system.P0 == 0.5 * 2.0 * 1.0 + 2.0 * 1.0 * 3.0
    assert np.allclose(system.P_of(np.array([[1.0, 3.0], [0.0, 1.0]])), [7.0, 2.0])
    # dD/dt = −(2κ − 2κ²/d) D + (1/d) κ P   (SGD, γ = 1, B = 1, no noise)
    P = 7.0
    expect = [-(4.0 - 0.8) * 1.0 + 0.1 * 2.0 * P, -(2.0 - 0.2) * 3.0 + 0.1 * 1.0 * P]
    assert np.allclose(system.rhs(0.0, system.D0), expect, rtol=1e-14)


def test_zero_mass_mode_evolves_but_does_not_count():
    with_ghost = _sgd_system([2.0, 1.0, 7.0], [1.0, 3.0, 5.0], d=10, mass=[1.0, 1.0, 0.0])
    without = _sgd_system([2.0, 1.0], [1.0, 3.0], d=10)
    t = np.linspace(0, 3, 7)
    # the ODE's first step depends on the largest κ, so the two step sequences differ: agreement to
    # the integration tolerance there; the recursion does the same arithmetic on the counted modes
    for method, tol in (("ode", 1e-8), ("recursion", 1e-14)):
        a, b = _run(with_ghost, t, method, rtol=1e-10), _run(without, t, method, rtol=1e-10)
        assert np.allclose(a.risk, b.risk, rtol=tol, atol=0)
        assert a.modes[-1, 2] != 5.0


# --- (d) validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mass, word", [
    ([1.0, -0.5, 1.0], r"mass must be finite and ≥ 0 \(range \[0, inf\)\), got -0.5 at index 1"),
    ([1.0, np.nan, 1.0], r"mass must be finite and ≥ 0 \(range \[0, inf\)\), got nan"),
    ([1.0, 1.0, np.inf], r"mass must be finite and ≥ 0 \(range \[0, inf\)\), got inf"),
    ([1.0, 1.0], r"mass must be a 1-D array with one entry per mode \(length 3\)"),
    ([[1.0, 1.0, 1.0]], r"mass must be a 1-D array with one entry per mode"),
    (["a", "b", "c"], r"mass must be a 1-D array of real numbers in \[0, inf\)"),
])
def test_bad_mass(mass, word):
    with pytest.raises(ValueError, match=word):
        _sgd_system([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], d=3, mass=mass)
