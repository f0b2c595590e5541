"""The derivation engine: limiting coefficients of streaming least squares from the update rule.

For Gaussian data and an update direction ``u = x·h(r)`` (``r = s − ε`` the residual, ``s ~ N(0, P)``,
``P = eᵀKe``), the limit of :mod:`hdlimits.solvers.modes` has ``a(P) = E[h'(r)]`` (Stein's lemma, in the
distributional sense) and ``b(P) = E[h(r)²]``. :func:`derive` computes both with sympy over the noise
law — closed forms where they exist, quadrature otherwise — and compiles them to numba functions
``f(P, c)`` (:mod:`hdlimits.derivation.codegen`). :func:`expect_noise` is the lower-level
``E_ε[F(P, ε)]`` used by other optimizers (e.g. signSGD's ``φ``).
"""
from hdlimits.derivation.expect import NoiseExpectation, expect_noise, expect_residual
from hdlimits.derivation.gauss import gauss_expect

__all__ = ["NoiseExpectation", "expect_noise", "expect_residual", "gauss_expect", "derive", "Derived"]

from hdlimits.derivation.engine import Derived, derive  # noqa: E402
