"""Steepest descent under norms (C7): Bernstein & Newhouse, *Old optimizer, new norm: an anthology*,
arXiv 2409.20325 (docs/norms.md §5).

Claims: Shampoo without accumulation ``(GGᵀ)^{-1/4} G (GᵀG)^{-1/4}`` is ``UVᵀ``; the spectral steepest-descent
step attains ``−‖G‖_*²/(2λ)`` and the ℓ∞ step ``−‖g‖_1²/(2λ)``; random perturbations never do better; the cubic
Newton–Schulz iteration reaches ``UVᵀ`` to 1e-8 in 60 iterations; sign descent and Adam with β1 = β2 = 0
(ε = 0) are the same algorithm — shown on the update formula and on two Monte Carlo runs of streaming least
squares with the same seed. Every reference value is computed by an independent route (numpy/scipy norms,
the polar decomposition, explicit objective evaluation).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

import hdlimits as hd

PAPER = "Bernstein & Newhouse 2024 (Old optimizer, new norm, arXiv:2409.20325)"


def _row(claim, measured, passed, **extra):
    return {"paper": PAPER, "claim": claim, "measured": measured, "passed": bool(passed), **extra}


def _primal(X, name):
    if name == "linf":
        return np.abs(X).max()
    return np.linalg.norm(X, 2)          # spectral


def run(fast: bool, outdir) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    n_mat = 5 if fast else 50
    n_pert = 500 if fast else 5000
    lam = 1.3

    # 1. Shampoo without accumulation = UVᵀ (= the polar factor of scipy)
    errs = []
    for _ in range(n_mat):
        G = rng.standard_normal((6, 4))
        Up, _ = scipy.linalg.polar(G)
        errs.append(max(np.abs(hd.norms.shampoo_direction(G) - Up).max(),
                        np.abs(hd.norms.orthogonalize(G, "svd") - Up).max()))
    rows.append(_row(f"(GGᵀ)^(-1/4) G (GᵀG)^(-1/4) = UVᵀ for random G ∈ R^(6×4) ({n_mat} draws)",
                     f"max error vs scipy polar factor {max(errs):.2e}", max(errs) < 1e-10))

    # 2. the steepest-descent values and 3. no perturbation does better
    G = rng.standard_normal((6, 4))
    for name, dual, label in (("spectral", np.linalg.norm(G, "nuc"), "‖G‖_*"),
                              ("linf", np.abs(G).sum(), "‖g‖_1")):
        step, value = hd.norms.steepest_descent(G, norm=name, sharpness=lam)
        expected = -dual ** 2 / (2 * lam)
        obj = float(np.sum(G * step) + 0.5 * lam * _primal(step, name) ** 2)
        rows.append(_row(f"the {name} step attains −{label}²/(2λ), λ = {lam}",
                         f"objective at the step {obj:.12g}, −{label}²/(2λ) = {expected:.12g}",
                         abs(obj - expected) < 1e-12 * abs(expected) and
                         abs(value - expected) < 1e-12 * abs(expected)))
        scale = np.abs(step).max()
        best = np.inf
        for eps in (1e-4, 1e-2, 1.0):
            for _ in range(n_pert):
                D = step + eps * scale * rng.standard_normal(G.shape)
                best = min(best, float(np.sum(G * D) + 0.5 * lam * _primal(D, name) ** 2))
        rows.append(_row(f"{3 * n_pert} random perturbations of the {name} step never do better",
                         f"best perturbed objective {best:.12g} ≥ {expected:.12g} "
                         f"(gap {best - expected:.3g})", best >= expected - 1e-12 * abs(expected)))

    # 4. cubic Newton–Schulz
    errs, needed = [], []
    for _ in range(n_mat):
        G = rng.standard_normal((6, 4))
        U, _, Vt = np.linalg.svd(G, full_matrices=False)
        errs.append(np.abs(hd.norms.orthogonalize(G, "newton-schulz", steps=60) - U @ Vt).max())
        needed.append(next(k for k in range(1, 61)
                           if np.abs(hd.norms.newton_schulz(G, steps=k)[0] - U @ Vt).max() < 1e-8))
    rows.append(_row("cubic Newton–Schulz X ← 1.5X − 0.5XXᵀX reaches UVᵀ to 1e-8 in 60 iterations",
                     f"max error after 60: {max(errs):.2e}; iterations needed for 1e-8: "
                     f"{min(needed)}–{max(needed)} ({n_mat} draws)", max(errs) < 1e-8))

    # 5. sign descent = Adam(β1 = β2 = 0, ε = 0): on the formula and in simulation
    g = rng.standard_normal(1000)
    adam = -(g / 1.0) / np.sqrt(g ** 2 / 1.0)       # m̂/√v̂ with m = g, v = g², bias corrections 1
    err = np.abs(hd.norms.sign_descent(g) - adam).max()
    d = 300 if fast else 1000
    prob = hd.Problem.power_law(d=d, alpha=1.0, beta=0.5, noise=hd.noise.gaussian(0.3), seed=0)
    t = np.linspace(0.0, 3.0, 7)
    runs = 2 if fast else 8
    a = hd.simulate(prob, hd.Adam(0.5, beta1=0.0, beta2=0.0, eps=0.0), t, runs=runs, seed=3, progress=False)
    s = hd.simulate(prob, hd.SignSGD(0.5), t, runs=runs, seed=3, progress=False)
    diff = float(np.abs(a.risk - s.risk).max())
    rows.append(_row("sign descent and Adam with β1 = β2 = 0 (ε = 0) are the same update",
                     f"formula: max |−sign(g) − m̂/√v̂| = {err:.1e} (1000 coordinates); streaming least "
                     f"squares d = {d}, γ = 0.5, {runs} runs, same seed: max |risk_Adam − risk_sign| = "
                     f"{diff:.1e} over t ∈ [0, 3] (risk {s.risk[0]:.4f} → {s.risk[-1]:.4f})",
                     err <= 1e-15 and diff <= 1e-12 * float(np.max(s.risk))))
    return rows
