"""Power-law random features (PLRF) as streaming least squares (docs/scaling.md §1–§3).

Model (Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling laws",
arXiv 2405.15074): data ``x ∈ R^v`` with ``x_j = j^{−α} z_j`` (``D = diag(j^{−2α})``), target
``y = ⟨x, b⟩`` with ``b_j = j^{−β}`` (no label noise), random features ``W ∈ R^{v×d}``, ``W_ij ~ N(0, 1/d)``,
predictor ``⟨Wᵀx, θ⟩``; the paper's loss is ``𝒫(θ) = E[(⟨Wᵀx, θ⟩ − y)²] = ‖D^{1/2}(Wθ − b)‖²`` (no ½), and
one-pass SGD sums the batch: ``θ ← θ − γ_p Σ_{i≤B} w_i r_i`` from ``θ_0 = 0``.

**Exact reduction.** Given ``W``, the features ``w = Wᵀx ~ N(0, K)``, ``K = WᵀDW``, and
``y − ⟨w, θ*⟩`` (``θ* = K⁻¹WᵀDb``) is Gaussian, independent of ``w``, with variance
``𝒫* = min 𝒫``: PLRF-SGD *is* Gaussian least squares with covariance ``K`` and noise ``N(0, 𝒫*)``.
hdlimits rescales the features to ``tr K = d`` (docs/conventions.md §6: ``x → √(d/tr K) x``, residuals
unchanged), so

    risk_hdlimits = ½ 𝒫,     γ_hdlimits = γ_p · B · tr K     (sum → mean batch: ×B),     t = steps/d.

``tr K`` is the *unscaled* trace (``PLRF.trace``); :meth:`PLRF.sgd` builds the converted optimizer.

**Deterministic equivalent** (``method="deterministic"``, large ``v``, ``d``; no d×d matrix;
docs/scaling.md §3): the Stieltjes transform ``m(z) = (1/d) tr(K − z)⁻¹`` solves
``m = 1/(−z + (1/d) Σ_j D_j/(1 + D_j m))`` and the target enters through
``G(z) = (Kθ*)ᵀ(K − z)⁻¹(Kθ*) ≈ Σ_j c_j² m D_j/(1 + m D_j)``, ``c_j² = D_j b_j²``;
``𝒫* ≈ Σ_j c_j²/(1 + m₀D_j)`` with ``(1/d)Σ_j D_j m₀/(1 + D_j m₀) = 1`` (``v > d``). The spectrum is built by
:mod:`hdlimits.models.least_squares.plrf_equivalent`: the isolated top eigenvalues (those above a gap) are
atoms of mass exactly 1 with their forcing, from residues in the ``m``-plane; the bulk below the last gap is
the Cauchy-smoothed density (:func:`density_nodes`: ``z = λ(1 + iε)`` at ε and 2ε, Richardson-combined),
normalised so that the exact sum rules hold (mass ``d``, forcing ``θ*ᵀKθ* = 𝒫(0) − 𝒫*``). Sums over
``j ≤ v`` use discrete Gauss blocks (:mod:`hdlimits.spectra.quadrature`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hdlimits.core import noise as noise_mod
from hdlimits.core import validation as v
from hdlimits.spectra.quadrature import gauss_panels, harmonic, power_sum_rule

__all__ = ["PLRF", "plrf_problem", "explicit_matrices", "stieltjes", "p_star", "density_nodes"]


@dataclass(frozen=True)
class PLRF:
    """The paper's setting of a PLRF problem and its conversions (module doc)."""
    v: int
    d: int
    alpha: float
    beta: float
    batch: int
    trace: float        # unscaled tr K
    p_star: float       # min 𝒫 (paper units, no ½)
    method: str
    p0: float           # 𝒫(θ_0 = 0) = Σ_j j^{−2α−2β}

    def lr(self, gamma_paper) -> float:
        """``γ_hdlimits = γ_p·B·tr K`` for the paper's (sum-over-batch) step ``γ_p``."""
        return float(gamma_paper) * self.batch * self.trace

    def sgd(self, gamma_paper):
        """``hd.SGD`` with the converted learning rate and this batch."""
        from hdlimits.optimizers import SGD
        return SGD(lr=self.lr(gamma_paper), batch=self.batch)

    def time(self, steps):
        """hdlimits time ``t = steps/d`` of the paper's step count ``r``."""
        return np.asarray(steps, dtype=np.float64) / self.d

    @staticmethod
    def paper_loss(risk):
        """``𝒫 = 2·risk`` (the paper's loss has no ½ and includes 𝒫*)."""
        return 2.0 * np.asarray(risk)


def explicit_matrices(v_dim, d, alpha, beta, seed=0):
    """One draw: ``(K, θ*, 𝒫*, 𝒫0)`` unscaled (``K = WᵀDW``, ``θ* = K⁻¹WᵀDb``)."""
    rng = np.random.default_rng(v.seed("seed", seed))
    j = np.arange(1, v_dim + 1, dtype=np.float64)
    Dg = j ** (-2 * alpha)
    b = j ** (-beta)
    W = rng.standard_normal((v_dim, d)) / math.sqrt(d)
    K = W.T @ (Dg[:, None] * W)
    rhs = W.T @ (Dg * b)
    theta = np.linalg.solve(K, rhs)
    p0 = float(np.sum(Dg * b * b))
    pstar = max(p0 - float(rhs @ theta), 0.0)
    return 0.5 * (K + K.T), theta, pstar, p0


def _j_rule(v_dim, alpha, beta, rtol):
    x, w, _ = power_sum_rule(v_dim, 2 * alpha, [2 * alpha, 4 * alpha, 2 * alpha + 2 * beta], rtol)
    return x ** (-2 * alpha), w, x


def _solve_m(z, Dj, wj, d, m0=None, iters=600):
    """``m`` with ``1/m = −z + (1/d) Σ_j w_j D_j/(1 + D_j m)`` at the points ``z`` (vectorised): damped
    fixed-point steps (a contraction in the upper half plane) until close, then Newton; a Newton step that
    leaves the upper half plane or raises the residual is replaced by a fixed-point step."""
    z = np.asarray(z, dtype=np.complex128)
    m = (-1.0 / z) if m0 is None else np.array(m0, dtype=np.complex128)

    active = np.arange(m.size)
    for it in range(iters):
        ma, za = m[active], z[active]
        q = 1.0 / (1.0 + np.multiply.outer(ma, Dj))
        S = (q * Dj) @ wj / d
        dS = -((q * q) * Dj * Dj) @ wj / d
        fp = 1.0 / (-za + S)
        F = 1.0 / ma + za - S
        dF = -1.0 / (ma * ma) - dS
        with np.errstate(all="ignore"):
            newton = ma - F / dF
        res = np.abs(fp - ma)
        use_newton = (it >= 3) & np.isfinite(newton) & (newton.imag >= 0) & (res < 0.1 * np.abs(ma))
        m_new = np.where(use_newton, newton, 0.5 * (ma + fp))
        done = np.abs(m_new - ma) <= 1e-11 * np.abs(ma)
        m[active] = m_new
        active = active[~done]
        if active.size == 0:
            break
    return m


def stieltjes(z, v_dim, d, alpha, rtol=1e-10):
    """Deterministic equivalent of ``m(z) = (1/d) tr(K − z)⁻¹`` (unscaled K; z off [0, ∞))."""
    Dj, wj, _ = _j_rule(v_dim, alpha, 0.0, rtol)
    z = np.asarray(z, dtype=np.complex128)
    flat = z.ravel()
    # continuation from far away: shrink the distance to the real axis step by step
    out = np.empty_like(flat)
    for i, zz in enumerate(flat):
        m = None
        for s in np.geomspace(1e3, 1.0, 13):
            zs = zz.real + 1j * (zz.imag * s if zz.imag != 0 else 0.0) if zz.real > 0 else zz * s
            m = _solve_m(np.array([zs]), Dj, wj, d, m)
        out[i] = m[0]
    return out.reshape(z.shape)


def p_star(v_dim, d, alpha, beta, rtol=1e-10):
    """Deterministic equivalent of ``𝒫* = min_θ 𝒫(θ)``: ``Σ_j c_j²/(1 + m₀D_j)`` (needs v > d)."""
    if v_dim <= d:
        raise ValueError(f"v must exceed d for the deterministic equivalent of 𝒫* (v = {v_dim}, d = {d})")
    Dj, wj, x = _j_rule(v_dim, alpha, beta, rtol)
    c2 = x ** (-2 * alpha - 2 * beta)
    lo, hi = 0.0, 1.0
    f = lambda m: float(wj @ (Dj * m / (1 + Dj * m))) / d - 1.0
    while f(hi) < 0:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    m0 = 0.5 * (lo + hi)
    return float(wj @ (c2 / (1 + Dj * m0)))


def _densities(lam, eps, Dj, wj, c2, d, m_start=None):
    m = m_start
    for e in np.geomspace(max(1.0, eps), eps, 4):
        m = _solve_m(lam * (1 + 1j * e), Dj, wj, d, m)
    rho = m.imag / math.pi
    md = np.multiply.outer(m, Dj)
    G = (md / (1 + md)) @ (wj * c2)
    return rho, G.imag / (math.pi * lam), m


def density_nodes(v_dim, d, alpha, beta, smoothing=1e-2, rtol=1e-8, lam_top=None, panel=None):
    """Nodes ``(λ, mass, D0)`` of the deterministic-equivalent spectrum of the *unscaled* K and the
    per-direction initial second moments of ``e_0 = −θ*`` (module doc); ``Σ mass·λ·D0 ≈ θ*ᵀKθ*``.

    The densities are ``Im m(λ + iελ)/π`` and ``Im G/(πλ)`` at relative smoothing ``ε`` and ``2ε``,
    combined as ``2ρ_ε − ρ_{2ε}`` (Richardson: cancels the O(ε) Cauchy tails, which otherwise inflate
    ``tr K`` by O(ε·log range)) and clipped at 0, on 3-point Gauss–Legendre panels in ``log λ`` of
    width ``panel`` (default ε), on ``[10⁻³ d^{−2α}, lam_top]`` (default: above the whole spectrum)."""
    Dj, wj, x = _j_rule(v_dim, alpha, beta, rtol)
    c2 = x ** (-2 * alpha - 2 * beta)
    if lam_top is None:
        lam_top = 2.0 * float(Dj[0]) * (1 + 4 / math.sqrt(d))
    lam_low = 1e-3 * float(d) ** (-2 * alpha)             # the bulk sits near d^(−2α) or above
    n_pan = int(math.ceil(math.log(lam_top / lam_low) / (panel or smoothing)))
    u, wu = gauss_panels(np.linspace(math.log(lam_low), math.log(lam_top), n_pan + 1), 3)
    lam = np.exp(u)
    r2, f2, m2 = _densities(lam, 2 * smoothing, Dj, wj, c2, d)
    r1, f1, _ = _densities(lam, smoothing, Dj, wj, c2, d, m2)
    # outside the support only the Cauchy tails remain (∝ ε), where 2ρ_ε − ρ_2ε ≈ 0: such points get no
    # mass (a phantom mode beyond the top edge would be unstable at large γκ/d)
    # (r_ε = ρ + εT + O(ε²): the Richardson value must stand out of the first-order tail εT = r_2ε − r_ε)
    support = (2 * r1 - r2) > 0.1 * np.abs(r2 - r1)
    rho = np.where(support, 2 * r1 - r2, 0.0)
    phi = np.where(support, np.clip(2 * f1 - f2, 0.0, None), 0.0)
    mass = d * rho * wu * lam                                # dλ = λ du
    F = phi * wu * lam
    keep = (mass > 0) & (F >= 0)
    lam, mass, F = lam[keep], mass[keep], F[keep]
    D0 = F / (lam * mass)
    return lam, mass, D0


def plrf_problem(v_dim, d, alpha, beta, batch=1, method="auto", seed=0, smoothing=1e-2, rtol=1e-8,
                 label=None):
    """The PLRF problem in hdlimits units (module doc): ``method="explicit"`` draws W (seeded) and
    returns a :class:`~hdlimits.models.least_squares.problem.Problem` (exact reduction, simulable);
    ``"deterministic"`` a lazy SpectralProblem on the deterministic-equivalent spectrum; ``"auto"``:
    explicit when ``v·d ≤ 4·10⁶``. The setting and conversions are in ``problem.plrf``."""
    from hdlimits.models.least_squares.problem import Problem
    from hdlimits.models.least_squares.spectral_problem import SpectralProblem
    v_dim = v.integer("v", v_dim, low=2)
    d = v.integer("d", d, low=1)
    alpha = v.real("alpha", alpha, low=0.0, low_open=True)
    beta = v.real("beta", beta)
    batch = v.integer("batch", batch, low=1)
    smoothing = v.positive("smoothing", smoothing)
    rtol = v.real("rtol", rtol, low=0.0, high=1.0, low_open=True, high_open=True)
    if method not in ("auto", "explicit", "deterministic"):
        raise ValueError(f"method must be 'auto', 'explicit' or 'deterministic', got {method!r}")
    if method == "auto":
        method = "explicit" if v_dim * d <= 4 * 10 ** 6 else "deterministic"
    if v_dim <= d:
        raise ValueError(f"v must exceed d (the random features are a projection of the data; got v = "
                         f"{v_dim}, d = {d})")
    name = label or f"plrf(v={v_dim}, d={d}, alpha={alpha:g}, beta={beta:g}, batch={batch})"
    if method == "explicit":
        v.memory("d", d, 2.0 * v_dim * d + 3.0 * d * d, "an explicit PLRF problem")
        K, theta, pstar, p0 = explicit_matrices(v_dim, d, alpha, beta, seed)
        tr = float(np.trace(K))
        c = math.sqrt(d / tr)
        lam, U = np.linalg.eigh(K)
        lam = np.clip(lam, 0.0, None) * c * c
        prob = Problem.from_spectrum(lam, U.T @ (-theta) / c, noise_mod.gaussian(math.sqrt(pstar)), None,
                                     name)
        setup = PLRF(v_dim, d, alpha, beta, batch, tr, pstar, "explicit", p0)
        return _attach(prob, setup)
    from hdlimits.models.least_squares.plrf_equivalent import equivalent_nodes
    tr = harmonic(v_dim, 2 * alpha)                           # E tr K = Σ_j D_j (rows of W have norm ≈ 1)
    scale = d / tr
    pstar = p_star(v_dim, d, alpha, beta, rtol)
    p0 = harmonic(v_dim, 2 * alpha + 2 * beta)
    lam, mass, D0, info = equivalent_nodes(v_dim, d, alpha, beta, p0 - pstar, smoothing, rtol)
    # self-check: the forcing measure must carry θ*ᵀKθ* = 𝒫(0) − 𝒫* (both exact sums over j); the bulk
    # is normalised to it, so the check is on the raw (unnormalised) bulk
    err = info["target_mass_error"]
    if err > 0.02:
        import warnings
        warnings.warn(f"Problem.plrf(method='deterministic'): the deterministic spectrum carries θ*ᵀKθ* with "
                      f"a relative error of {err:.2g} before normalisation at d = {d} (docs/scaling.md §3)",
                      UserWarning, stacklevel=3)
    prob = SpectralProblem(lam * scale, mass, D0 / scale, d, noise_mod.gaussian(math.sqrt(pstar)), float(d),
                           None, name, dict(info, smoothing=smoothing, rtol=rtol, nodes=int(lam.size)))
    setup = PLRF(v_dim, d, alpha, beta, batch, tr, pstar, "deterministic", p0)
    return _attach(prob, setup)


def _attach(prob, setup):
    # the problem classes are frozen dataclasses with an instance dict: the setting rides along as an
    # attribute (``problem.plrf``) without a field of its own
    object.__setattr__(prob, "plrf", setup)
    return prob


def simulate_plrf(v_dim, d, alpha, beta, gamma, batch, steps, runs=32, seed=0, w_seed=0):
    """Monte Carlo of the paper's algorithm itself (not of its reduction): ``x_j = j^{−α} z_j`` in R^v,
    features ``Wᵀx`` with the W of ``explicit_matrices(…, seed=w_seed)``, ``θ ← θ − γ Σ_{i≤B} w_i r_i``
    from ``θ_0 = 0``. Returns ``(mean, standard error)`` of the exact loss ``𝒫(θ_r) = ‖D^{1/2}(Wθ_r − b)‖²``
    at the step counts ``steps`` (non-decreasing integers), over ``runs`` independent data streams."""
    steps = np.asarray(steps, dtype=np.int64)
    rng_w = np.random.default_rng(v.seed("w_seed", w_seed))
    j = np.arange(1, v_dim + 1, dtype=np.float64)
    Dh = j ** (-alpha)
    b = j ** (-beta)
    W = rng_w.standard_normal((v_dim, d)) / math.sqrt(d)        # the same draw as explicit_matrices
    rng = np.random.default_rng(v.seed("seed", seed))
    theta = np.zeros((runs, d))
    out = np.empty((steps.size, runs))

    def loss(th):
        res = Dh[None, :] * (th @ W.T - b[None, :])
        return np.sum(res * res, axis=1)

    k = 0
    for i, s in enumerate(steps):
        while k < s:
            X = rng.standard_normal((runs, batch, v_dim)) * Dh           # x = D^{1/2} z
            F = X @ W                                                     # features (runs, B, d)
            r = np.einsum("rbd,rd->rb", F, theta) - X @ b                 # residuals
            theta -= gamma * np.einsum("rbd,rb->rd", F, r)
            k += 1
        out[i] = loss(theta)
    return out.mean(axis=1), out.std(axis=1, ddof=1) / math.sqrt(runs)
