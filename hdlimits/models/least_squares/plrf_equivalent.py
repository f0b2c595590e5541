"""Deterministic equivalent of the PLRF spectrum: isolated top eigenvalues as atoms (residues in the
``m``-plane) and the bulk as a smoothed density (docs/scaling.md §3).

Setting (Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074): ``K = WᵀDW``, ``D = diag(j^{−2α})``,
``W_ij ~ N(0, 1/d)``, ``c_j² = D_j b_j² = j^{−2α−2β}``. The Stieltjes transform ``m(z) = (1/d) tr(K − z)⁻¹``
is the inverse of the explicit map

    z(m) = −1/m + S(m),     S(m) = (1/d) Σ_j D_j/(1 + D_j m),

and ``G(z) = (Kθ*)ᵀ(K − z)⁻¹(Kθ*) = Σ_j c_j² m D_j/(1 + m D_j)``. With ``μ = Σ_k δ_{λ_k}`` (mass ``d``) and the
forcing measure ``ν = Σ_k λ_k⟨u_k, θ*⟩² δ_{λ_k}``, for a closed ``z``-contour Γ around a part of the
spectrum that crosses the real axis in gaps,

    ∫ h dμ = −(d/2πi) ∮_Γ h(z) m(z) dz = −(d/2πi) ∮ h(z(m)) m z'(m) dm,
    ∫ h dν = −(1/2πi) ∮_Γ h(z) G(z)/z dz = −(1/2πi) ∮ h(z(m)) G(m) z'(m)/z(m) dm.

The right-hand sides are integrals in the ``m``-plane of explicit functions, singular only at ``m = 0``
and at the poles ``m = −1/D_j``: the ``z``-contour around the ``j``-th eigenvalue (isolated when the
real function ``z(m)`` increases somewhere between consecutive poles, i.e. there is a gap) becomes any
small circle around ``−1/D_j`` — no fixed point is solved. The residue of ``m z'(m)`` there is ``−1/d``:
each isolated bump carries exactly one eigenvalue. Its mean ``∫λ dμ_j`` and forcing ``ν_j`` are computed
by the trapezoidal rule on the circle (radius 0.3 of the distance to the nearest other singularity:
geometric convergence ``0.3^N``). The sums over ``j`` keep the indices below ``2J + 64`` exact (``J``
the last atom), beyond that discrete Gauss blocks (``docs/spectra.md §2``).

Below the last gap the spectrum is a continuum (the bumps, of relative width ``~4/√d``, overlap once
``2α/j ≲ 4/√d``); it is represented by the Cauchy-smoothed density of ``plrf.density_nodes`` restricted
to below the gap, normalised so that the exact sum rules hold: mass ``d − J`` and forcing
``𝒫(0) − 𝒫* − Σ_j ν_j`` (the raw factors are reported in ``info``).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hdlimits.core import validation as v
from hdlimits.spectra.quadrature import discrete_gauss

__all__ = ["index_rule", "isolated_count", "atoms", "equivalent_nodes"]

_CONTOUR = 32          # trapezoidal points per circle (error ≈ 2^−32)


def index_rule(v_dim, exact, n=12):
    """Nodes ``x`` and weights ``w`` with ``Σ_{j≤v} g(j) ≈ Σ w_i g(x_i)``: the indices ``1..exact`` exactly,
    beyond that discrete Gauss blocks (``n`` nodes) of sizes growing by √2 (``docs/spectra.md §2``)."""
    v_dim = v.integer("v_dim", v_dim, low=1)
    exact = v.integer("exact", exact, low=0)
    n = v.integer("n", n, low=1)
    exact = int(min(exact, v_dim))
    xs, ws = [np.arange(1, exact + 1, dtype=np.float64)], [np.ones(exact)]
    a = exact + 1
    while a <= v_dim:
        c = min(max(1, int(a * (math.sqrt(2.0) - 1.0))), v_dim - a + 1)
        x, w = discrete_gauss(a, c, n)
        xs.append(x)
        ws.append(w)
        a += c
    return np.concatenate(xs), np.concatenate(ws)


@nb.njit(cache=True, nogil=True)
def _sums(m, Dx, w, c2w, inv_d):
    """``z(m)``, ``z'(m)`` and ``G(m)/m`` at the points ``m`` (flat complex array): one pass over the nodes."""
    z = np.empty_like(m)
    zp = np.empty_like(m)
    g = np.empty_like(m)
    for i in range(m.size):
        mi = m[i]
        s = 0j
        ds = 0j
        gs = 0j
        for k in range(Dx.size):
            q = 1.0 / (1.0 + Dx[k] * mi)
            t = Dx[k] * q
            s += w[k] * t
            ds += w[k] * t * t
            gs += c2w[k] * t
        z[i] = -1.0 / mi + s * inv_d
        zp[i] = 1.0 / (mi * mi) - ds * inv_d
        g[i] = gs
    return z, zp, g


def _setting(d, alpha, x, w):
    """Checked ``(d, α, x, w)``: ``d`` ≥ 1, ``α`` > 0, nodes ``x`` ≥ 1 and weights ``w`` > 0 of equal length
    (from :func:`index_rule`)."""
    d = v.integer("d", d, low=1)
    alpha = v.real("alpha", alpha, low=0.0, low_open=True)
    x = v.vector("x", x, positive=True)
    w = v.vector("w", w, size=x.size, positive=True, size_name="the length of x")
    return d, alpha, x, w


def _poles(alpha, jmax):
    j = np.arange(1, jmax + 2, dtype=np.float64)
    return -j ** (2 * alpha)                       # −1/D_j, j = 1..jmax+1


def isolated_count(d, alpha, x, w, jmax, grid=64):
    """The number ``J`` of leading isolated eigenvalues: ``j ≤ J`` has a gap below it, i.e. ``z'(m) > 0``
    somewhere between the poles ``−1/D_{j+1}`` and ``−1/D_j``; also returns the gap points ``λ_cut[j]``
    (the value of ``z`` where ``z'`` is largest in each interval, inside the gap). ``jmax`` ≥ 1 intervals,
    ``grid`` ≥ 1 points in each."""
    d, alpha, x, w = _setting(d, alpha, x, w)
    jmax = v.integer("jmax", jmax, low=1)
    grid = v.integer("grid", grid, low=1)
    Dx = x ** (-2 * alpha)
    p = _poles(alpha, jmax)
    u = (np.arange(grid) + 0.5) / grid
    cuts = np.full(jmax, np.nan)
    count = 0
    for lo in range(0, jmax, 64):
        hi = min(jmax, lo + 64)
        m = p[lo + 1:hi + 1, None] + (p[lo:hi, None] - p[lo + 1:hi + 1, None]) * u[None, :]
        zc, zpc, _ = _sums(m.astype(np.complex128).ravel(), Dx, w, w, 1.0 / d)
        z, zp = zc.real.reshape(m.shape), zpc.real.reshape(m.shape)
        k = np.argmax(zp, axis=1)
        rows = np.arange(hi - lo)
        gap = zp[rows, k] > 0
        cuts[lo:hi] = np.where(gap, z[rows, k], np.nan)
        first = np.flatnonzero(~gap)
        if first.size:
            return lo + int(first[0]), cuts
        count = hi
    return count, cuts


def atoms(d, alpha, beta, x, w, J, n_contour=_CONTOUR):
    """Mass, mean eigenvalue and forcing ``ν_j`` of the isolated eigenvalues ``j = 1..J`` (module doc),
    from the trapezoidal rule on circles around the poles ``−1/D_j`` of the ``m``-plane (``J`` ≥ 0,
    ``n_contour`` ≥ 1 points per circle)."""
    d, alpha, x, w = _setting(d, alpha, x, w)
    beta = v.real("beta", beta)
    J = v.integer("J", J, low=0)
    n_contour = v.integer("n_contour", n_contour, low=1)
    if J == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    Dx = x ** (-2 * alpha)
    c2 = x ** (-2 * alpha - 2 * beta)
    p = _poles(alpha, J)
    pol = p[:J]
    near_zero = np.concatenate([[0.0], pol[:-1]])
    r = 0.3 * np.minimum(np.abs(pol - near_zero), np.abs(p[1:J + 1] - pol))
    e = np.exp(2j * np.pi * (np.arange(n_contour) + 0.5) / n_contour)
    mass, mom, nu = np.empty(J), np.empty(J), np.empty(J)
    for lo in range(0, J, 32):
        hi = min(J, lo + 32)
        m = pol[lo:hi, None] + r[lo:hi, None] * e[None, :]
        dm = 1j * r[lo:hi, None] * e[None, :] * (2 * np.pi / n_contour)
        z, zp, g = (a.reshape(m.shape) for a in _sums(m.ravel(), Dx, w, w * c2, 1.0 / d))
        G = m * g
        f = -1.0 / (2j * np.pi)
        mass[lo:hi] = (d * f * np.sum(m * zp * dm, axis=1)).real
        mom[lo:hi] = (d * f * np.sum(z * m * zp * dm, axis=1)).real
        nu[lo:hi] = (f * np.sum(G / z * zp * dm, axis=1)).real
    return mass, mom / mass, nu


def equivalent_nodes(v_dim, d, alpha, beta, target, smoothing=1e-2, rtol=1e-8, panel=0.04):
    """Nodes ``(λ, mass, D0, info)`` of the deterministic-equivalent spectrum of the *unscaled* ``K`` and
    the per-direction second moments of ``e_0 = −θ*`` (``Σ mass·λ·D0 = target = 𝒫(0) − 𝒫*``): the ``J``
    isolated top eigenvalues as atoms (:func:`atoms`), the bulk below their last gap from
    ``plrf.density_nodes`` (smoothing ε, Gauss panels of width ``panel`` in ``log λ``) normalised to mass
    ``d − J`` and forcing ``target − Σ ν_j`` (module doc). ``info``: ``atoms`` (J), ``lam_cut``, the raw
    bulk factors ``bulk_mass_factor``, ``bulk_forcing_factor`` and ``target_mass_error`` (relative error of
    the total forcing before normalisation). Ranges: ``v_dim > d ≥ 1``, ``α > 0``, ``target > 0``,
    ``smoothing > 0``, ``rtol`` in (0, 1), ``panel > 0``."""
    from hdlimits.models.least_squares.plrf import density_nodes
    v_dim = v.integer("v_dim", v_dim, low=2)
    d = v.integer("d", d, low=1)
    if v_dim <= d:
        raise ValueError(f"v_dim must exceed d, got v_dim = {v_dim}, d = {d}")
    alpha = v.real("alpha", alpha, low=0.0, low_open=True)
    beta = v.real("beta", beta)
    target = v.positive("target", target)
    smoothing = v.positive("smoothing", smoothing)
    rtol = v.real("rtol", rtol, low=0.0, high=1.0, low_open=True, high_open=True)
    panel = v.positive("panel", panel)
    jmax = int(min(v_dim - 1, d - 1, math.ceil(alpha * math.sqrt(d)) + 8))
    x, w = index_rule(v_dim, 2 * jmax + 64)
    J, cuts = isolated_count(d, alpha, x, w, jmax) if jmax > 0 else (0, np.zeros(0))
    mass_a, lam_a, nu = atoms(d, alpha, beta, x, w, J)
    lam_cut = float(cuts[J - 1]) if J else None
    lam_b, mass_b, D0_b = density_nodes(v_dim, d, alpha, beta, smoothing, rtol, lam_top=lam_cut, panel=panel)
    F_b = mass_b * lam_b * D0_b
    want_mass, want_F = d - float(np.sum(mass_a)), target - float(np.sum(nu))
    raw_mass, raw_F = float(np.sum(mass_b)), float(np.sum(F_b))
    info = {"atoms": int(J), "lam_cut": lam_cut, "bulk_mass_factor": want_mass / raw_mass,
            "bulk_forcing_factor": want_F / raw_F if raw_F > 0 else math.nan,
            "target_mass_error": abs(float(np.sum(nu)) + raw_F - target) / target,
            "atom_mass_error": float(np.max(np.abs(mass_a - 1))) if J else 0.0}
    if want_mass <= 0 or want_F < 0 or raw_F <= 0:
        raise RuntimeError(f"PLRF deterministic equivalent: inconsistent bulk (mass {want_mass:.6g}, forcing "
                           f"{want_F:.6g}) at v = {v_dim}, d = {d}")
    mass_b = mass_b * (want_mass / raw_mass)
    D0_b = D0_b * (want_F / raw_F) * (raw_mass / want_mass)          # forcing = mass·λ·D0
    D0_a = nu / (lam_a * mass_a)
    return (np.concatenate([lam_a[::-1], lam_b[::-1]])[::-1], np.concatenate([mass_a[::-1], mass_b[::-1]])[::-1],
            np.concatenate([D0_a[::-1], D0_b[::-1]])[::-1], info)
