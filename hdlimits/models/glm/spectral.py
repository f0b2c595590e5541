"""The high-dimensional limit of spectral (Muon-like) SGD on GLM problems with a Gaussian ψ (docs/norms.md §4).

Update (:class:`~hdlimits.optimizers.spectral.SpectralSGD`): ``X ← X − (γ/d)·√d·UVᵀ`` with ``UVᵀ`` the polar
factor of ``G = (1/B) Σ_b x_b ψ_bᵀ`` (Bernstein & Newhouse, arXiv 2409.20325). Reduction (d → ∞ with m, m*,
B fixed; ``T = tr K``, ``λ̄ = T/d``). With ``A = [x_1 … x_B]`` and ``Ψ = [ψ_1 … ψ_B]`` (m×B),
``AᵀA = T·(I_B + O(√(B/d)))``, so ``GᵀG ≈ (T/B²) ΨΨᵀ`` and

    √d·UVᵀ ≈ λ̄^{-1/2} · A Ψᵀ (ΨΨᵀ)^{+1/2}      (pseudo-inverse root on the range of Ψ when B < m).

*Drift.* ``E[x_b | r_b] = K W B⁻¹ r_b``. When ψ and r are jointly Gaussian (square loss, a student and teacher
linear in r, Gaussian or no label noise) write ``r_b = C ψ_b + z_b`` with ``z_b`` independent of Ψ; then
``E[Σ_b r_b ψ_bᵀ (ΨΨᵀ)^{+1/2}] = C·E[(ΨΨᵀ)^{1/2}]`` and, since ``B⁻¹C = J_{:, :m} I_m⁻¹`` (Stein form of J,
``I_m = E ψψᵀ``), the drift is SGD's with the state-dependent output factor

    Q_out(B) = λ̄^{-1/2} · I_m⁻¹ · E[(ΨΨᵀ)^{1/2}],     Ψ = I_m^{1/2} Z,  Z an m×B standard Gaussian matrix.

*Noise.* A single eigen-direction ``ũ_i`` sees ``ũ_iᵀA ≈ √λ_i·(i.i.d. N(0,1))`` independent of Ψ, so
``E[uᵀũ_iũ_iᵀu] = (λ_i/λ̄)·E[Π_Ψ]`` with ``Π_Ψ`` the projector on the row space of Ψ (``= I_m`` when B ≥ m):
the noise no longer depends on the loss (the "noise reshaping" of sign descent). The block system
(docs/glm.md §3) becomes

    dV_i/dt = −γλ_i (V_i J Q̄ + Q̄ᵀ Jᵀ V_i) + (γ²λ_i/(d λ̄)) blockdiag(E[Π_Ψ], 0),   Q̄ = blockdiag(Q_out(B), 0).

``I_m = Σ O Λ Oᵀ``: by the sign symmetry of Z, ``E[(ΨΨᵀ)^{1/2}] = O diag(δ) Oᵀ`` with
``δ_a = E[(Λ^{1/2}ZZᵀΛ^{1/2})^{1/2}]_aa`` (likewise for Π_Ψ), so ``Q_out`` is symmetric. ``m = 1``:
``δ = √Λ·√2 Γ((B+1)/2)/Γ(B/2)`` exactly; ``m > 1``: a fixed set of ``draws`` Wishart samples (common random
numbers, so the coefficients are smooth in B) with the trace of ``ZZᵀ`` as control variate; measured error
3·10⁻⁵–1·10⁻³ relative against 2¹⁹ draws, largest at B = 2 (docs/norms.md §4). Large B: ``E[(ΨΨᵀ)^{1/2}] → √B I_m^{1/2}``, ``Q_out → √(B/λ̄)
I_m^{-1/2}`` — the large-batch Shampoo proxy of the notes. The ``γλ_i/d`` correction of the SGD system is
not derived here (``finite_d=False``). Models whose ψ is not Gaussian get :class:`LimitNotAvailable`.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.schedules import as_schedule
from hdlimits.models.glm.problem import GLMProblem
from hdlimits.models.glm.reductions import drift_coordinates, merge_modes
from hdlimits.optimizers.spectral import SpectralSGD
from hdlimits.solvers.blocks import BlockModeSystem

__all__ = ["spectral_limit", "SpectralFactors", "gaussian_psi", "register"]

#: Wishart draws of the m > 1 quadrature (common random numbers, seed 0)
DRAWS = 1 << 15


def gaussian_psi(model, noise) -> bool:
    """True when ψ is an affine function of r plus Gaussian (or no) label noise — ψ and r jointly Gaussian."""
    if getattr(model, "labels", None) != "additive" or noise.name not in ("gaussian", "none"):
        return False
    syms = list(model.r) + list(model.eps)
    for p in model.psi:
        e = sp.expand(p)
        if not e.free_symbols <= set(syms) or not e.is_polynomial(*syms):
            return False
        if sp.Poly(e, *syms).total_degree() > 1:
            return False
    return True


class SpectralFactors:
    """The output factor ``Q_out(B)`` and noise matrix ``E[Π_Ψ]/λ̄`` of the reduction, and the model's
    expectations with them folded in (``evaluate(B) -> (h, J_eff, I_eff)`` with
    ``J_eff[:, :m] = J[:, :m] Q_out``, ``I_eff = blockdiag(E[Π_Ψ]/λ̄, 0)``) for the block system."""

    def __init__(self, expectations, m: int, batch: int, lam_bar: float, draws: int = DRAWS):
        self.base, self.m, self.batch, self.lam_bar = expectations, int(m), int(batch), float(lam_bar)
        if self.m > 1:
            Z = np.random.default_rng(0).standard_normal((int(draws), self.m, self.batch))
            self.ZZ = np.einsum("nab,ncb->nac", Z, Z)
        else:
            self.ZZ = None
        self.chi_mean = math.sqrt(2.0) * math.exp(math.lgamma((batch + 1) / 2) - math.lgamma(batch / 2))

    def moments(self, Im):
        """``(E[(ΨΨᵀ)^{1/2}], E[Π_Ψ])`` for ``Ψ = Im^{1/2} Z``."""
        m, Bs = self.m, self.batch
        if m == 1:
            return np.array([[math.sqrt(max(Im[0, 0], 0.0)) * self.chi_mean]]), np.eye(1)
        lam, O = np.linalg.eigh(0.5 * (Im + Im.T))
        lam = np.clip(lam, 0.0, None)
        r = np.sqrt(lam)
        S = self.ZZ * (r[:, None] * r[None, :])
        if m == 2:
            diag_sqrt, diag_proj = _sqrt_diag_2x2(S)
        else:
            diag_sqrt, diag_proj = _sqrt_diag_eigh(S)
        cv = np.einsum("naa->na", S)                                      # control variate, E = B·lam
        cvc = cv - cv.mean(axis=0)
        var = (cvc ** 2).mean(axis=0)
        cov = ((diag_sqrt - diag_sqrt.mean(axis=0)) * cvc).mean(axis=0)
        beta = np.divide(cov, var, out=np.zeros_like(cov), where=var > 0)
        delta = diag_sqrt.mean(axis=0) - beta * (cv.mean(axis=0) - Bs * lam)
        Esqrt = (O * delta) @ O.T
        if Bs >= m:
            return Esqrt, np.eye(m)
        pd = diag_proj.mean(axis=0)
        pd *= Bs / pd.sum()                                              # tr Π_Ψ = B exactly
        return Esqrt, (O * pd) @ O.T

    def factors(self, B):
        """``(Q_out, N)``: the output factor and the noise matrix ``E[Π_Ψ]/λ̄`` at overlaps ``B``."""
        _, _, I = self.base.evaluate(B)
        Im = np.asarray(I, dtype=np.float64)[:self.m, :self.m]
        Esqrt, Eproj = self.moments(Im)
        Q = np.linalg.solve(Im, Esqrt) / math.sqrt(self.lam_bar)
        return 0.5 * (Q + Q.T), Eproj / self.lam_bar

    def evaluate(self, B):
        h, J, I = self.base.evaluate(B)
        m, k = self.m, np.shape(J)[0]
        Q, N = self.factors(B)
        Jeff = np.array(J, dtype=np.float64)
        Jeff[:, :m] = Jeff[:, :m] @ Q
        Ieff = np.zeros((k, k))
        Ieff[:m, :m] = N
        return h, Jeff, Ieff

    def risk(self, B):
        return self.base.risk(B)

    def curvature(self, B):
        raise LimitNotAvailable("the γλ/d correction of spectral SGD is not derived (finite_d=False)")


def _sqrt_diag_2x2(S):
    """Diagonals of ``S^{1/2}`` and of the range projector for a stack of 2×2 PSD matrices:
    ``S^{1/2} = (S + √det·I)/√(tr + 2√det)``; the projector is I, or ``S/tr S`` when ``det = 0``."""
    a, b, c = S[:, 0, 0], S[:, 1, 1], S[:, 0, 1]
    det = np.clip(a * b - c * c, 0.0, None)
    sd = np.sqrt(det)
    tr = a + b
    den = np.sqrt(np.where(tr + 2 * sd > 0, tr + 2 * sd, 1.0))
    sq = np.stack([(a + sd) / den, (b + sd) / den], axis=1)
    rank1 = det <= 1e-12 * tr * tr
    trs = np.where(tr > 0, tr, 1.0)
    proj = np.where(rank1[:, None], np.stack([a / trs, b / trs], axis=1), 1.0)
    return sq, proj


def _sqrt_diag_eigh(S):
    m = S.shape[-1]
    w, Q = np.linalg.eigh(S)
    w = np.clip(w, 0.0, None)
    top = w.max(axis=1, keepdims=True)
    keep = (w > m * np.finfo(np.float64).eps * top).astype(np.float64)
    return np.einsum("nab,nb->na", Q * Q, np.sqrt(w)), np.einsum("nab,nb->na", Q * Q, keep)


def spectral_limit(problem: GLMProblem, optimizer: SpectralSGD, t_max=None,
                   draws: int = DRAWS) -> BlockModeSystem:
    """The block system of spectral SGD on a GLM problem with jointly Gaussian (ψ, r) (module docstring)."""
    if not gaussian_psi(problem.model, problem.noise):
        raise LimitNotAvailable(
            f"spectral SGD's limit is derived for a Gaussian ψ (square loss, linear student and teacher, "
            f"Gaussian or no noise); {problem.model.name} with noise {problem.noise.spec()} is not covered "
            "(simulate() runs it)")
    lam_bar = problem.trace / problem.d
    if not lam_bar > 0:
        raise LimitNotAvailable("spectral SGD's limit needs tr K > 0")
    lam, C = drift_coordinates(problem, optimizer)
    lam, mass, V0 = merge_modes(lam, C)
    ex = SpectralFactors(problem.model.expectations(problem.noise), problem.m, optimizer.batch, lam_bar,
                         draws)
    return BlockModeSystem(lam=lam, mass=mass, V0=V0, m=problem.m, d=problem.d,
                           schedule=as_schedule(optimizer.lr, t_max), batch=1, expectations=ex,
                           output=None, finite_d=False, label=optimizer.describe())


def _simulate(problem, optimizer, t, **options):
    from hdlimits.models.glm.spectral_sim import simulate_spectral
    return simulate_spectral(problem, optimizer, t, **options)


def register() -> None:
    from hdlimits.reductions import register_limit, register_simulator
    register_limit(GLMProblem, SpectralSGD, spectral_limit)
    register_simulator(GLMProblem, _simulate, optimizer_type=SpectralSGD)
