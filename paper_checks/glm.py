"""GLM and multi-index models: closed forms, the block limit vs Monte Carlo, output factors, thresholds.

Papers
------
* [CPPS] E. Collins-Woodfin, C. Paquette, E. Paquette, I. Seroussi, *Hitting the high-dimensional notes:
  an ODE for SGD learning dynamics on GLMs and multi-index models*, Information and Inference 2024,
  arXiv:2308.08977 — the deterministic limit (here per eigenmode, docs/glm.md §3), logistic regression and
  phase retrieval as examples, learning-rate thresholds.
* [ZMN+] T. Zhang et al., *On the concurrence of layer-wise preconditioning methods and provable feature
  learning*, ICML 2025, arXiv:2502.01763 — the layer-wise (Kronecker) update ``X ← X − (γ/d)P_in·x·ψᵀ·Q_out``.
The claims and numbers are those of docs/glm.md §8 (C5, C6, C14 and the phase-retrieval threshold).

Conventions
-----------
hdlimits: step ``γ/d`` per sample, time ``t = steps/d``, risk ``h(B) = E f`` with the overlaps
``B = WᵀKW`` (noise included, ``f = ½(…)²`` for the regression models, cross-entropy for logistic). Every
claim is measured by the limit (``hd.predict_risk``) and by Monte Carlo of the real algorithm
(``hd.simulate``), compared by ``hd.compare``'s verdict (Bonferroni–Student-t over the compared times,
family-wise level 0.01): a tolerance that follows from the number of runs.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import sympy as sp

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.solvers.blocks_solve import solve_blocks

CPPS = "Collins-Woodfin, Paquette, Paquette, Seroussi 2024 (arXiv:2308.08977)"
ZMN = "Zhang et al., ICML 2025 (arXiv:2502.01763)"
T6 = np.arange(0.0, 7.0)


def _row(paper, claim, measured, passed, **extra):
    return {"paper": paper, "claim": claim, "measured": measured, "passed": bool(passed), **extra}


def _fig():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(16, 4), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _c5_problem(d, seed=0, dense=False):
    """docs/glm.md §8 C5: λ uniform on [0.2, 2], x*ᵀKx* = 1, x_0 = 0.3·g/√d + 0.2·x*, noiseless ReLU."""
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    xs = rng.standard_normal(d)
    xs /= np.sqrt(np.sum(lam * xs * xs))
    x0 = 0.3 * rng.standard_normal(d) / np.sqrt(d) + 0.2 * xs
    basis = None
    if dense:
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        basis = q * np.sign(np.diagonal(r))
        xs, x0 = basis @ xs, basis @ x0
    return hd.Problem.from_spectrum(lam, teacher=xs, initial=x0, model=hd.models.relu(), basis=basis,
                                    label=f"ReLU C5 (d={d}{', dense' if dense else ''})")


class _NaiveJ:
    """ReLU expectations with the a.e. derivative J₁₁ = P(r₁ > 0) = ½ (the jump of ψ at r₁ = 0 missed)."""

    def __init__(self, exp):
        self.exp = exp

    def evaluate(self, B):
        h, J, I = self.exp.evaluate(B)
        J = J.copy()
        J[0, 0] = 0.5
        return h, J, I

    def curvature(self, B):
        return self.exp.curvature(B)

    def risk(self, B):
        return self.exp.risk(B)


def _mc_moments(B, n, seed):
    """Monte Carlo of the C6 quantities at B (noiseless ReLU and phase retrieval): means and standard
    errors of relu·relu, 1{r₁>0}1{r₂>0}, J's Stein numerators and ψ²."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, 2)) @ np.linalg.cholesky(B).T
    r1, r2 = r[:, 0], r[:, 1]
    relu1, relu2 = np.maximum(r1, 0), np.maximum(r2, 0)
    psi = (r1 > 0) * (relu1 - relu2)
    Binv = np.linalg.inv(B)
    y = r @ Binv.T
    pr = 2 * r1 * (r1 ** 2 - r2 ** 2)
    samples = {"relu_relu": relu1 * relu2, "both_positive": (r1 > 0) * (r2 > 0),
               "relu_J11": y[:, 0] * psi, "relu_J21": y[:, 1] * psi, "relu_I": psi ** 2,
               "pr_J11": y[:, 0] * pr, "pr_J21": y[:, 1] * pr, "pr_I": pr ** 2,
               "pr_risk": 0.5 * (r1 ** 2 - r2 ** 2) ** 2}
    return {k: (float(v.mean()), float(v.std() / np.sqrt(n))) for k, v in samples.items()}


def closed_forms(fast, outdir):
    """docs/glm.md §8 C6 at B = [[1.3, 0.7], [0.7, 0.9]]: the closed forms to 4 decimals and vs Monte Carlo."""
    B = np.array([[1.3, 0.7], [0.7, 0.9]])
    relu = hd.models.relu().expectations(hd.noise.none())
    pr = hd.models.phase_retrieval().expectations(hd.noise.none())
    h, J, I = relu.evaluate(B)
    e_rr = 0.5 * (0.5 * B[0, 0] + 0.5 * B[1, 1] - 2 * h)     # risk = ½(a/2 + b/2 − 2E[relu relu])
    hp, Jp, Ip = pr.evaluate(B)
    ours = {"relu_relu": e_rr, "both_positive": -J[1, 0], "relu_J11": J[0, 0], "relu_J21": J[1, 0],
            "relu_I": I[0, 0], "pr_J11": Jp[0, 0], "pr_J21": Jp[1, 0], "pr_I": Ip[0, 0], "pr_risk": hp}
    claimed = {"relu_relu": 0.38466, "both_positive": 0.36202, "relu_J11": 0.39904, "relu_J21": -0.36202,
               "relu_I": 0.27717, "pr_J11": 6.0, "pr_J21": -2.8, "pr_I": 67.968, "pr_risk": 1.6}
    n = 1_000_000 if fast else 4_000_000
    mc = _mc_moments(B, n, seed=17)
    # J's Stein numerators: J = B⁻¹E[rψ] is linear in the sample mean of y·ψ, so the MC of J is that mean
    z = {k: abs(ours[k] - mc[k][0]) / mc[k][1] for k in ours}
    dec = {k: abs(ours[k] - claimed[k]) for k in ours}
    ok = all(dec[k] <= 5e-5 * max(1.0, abs(claimed[k])) for k in ours) and max(z.values()) <= 4.5
    return _row(CPPS, "C6: at B = [[1.3, 0.7], [0.7, 0.9]] (noiseless): E[relu relu] = 0.38466, "
                      "P(r₁>0, r₂>0) = 0.36202, ReLU J = (0.39904, −0.36202), I = 0.27717; phase retrieval "
                      "J = (6.0, −2.8), I = 67.968, risk 1.6 — to 4 decimals, and within 4.5 s.e. of a "
                      f"Monte Carlo of {n:.0e} samples",
                f"max |ours − claimed| = {max(dec.values()):.2g}; max |z| vs MC = {max(z.values()):.2f} "
                f"(ReLU J₁₁ {ours['relu_J11']:.5f}, I {ours['relu_I']:.5f}; phase retrieval I "
                f"{ours['pr_I']:.4f})", ok)


def relu_limit(fast, outdir, ax):
    """C5: the ReLU block limit vs Monte Carlo, and the naive a.e. derivative rejected."""
    d, runs = (400, 10) if fast else (1000, 20)
    prob = _c5_problem(d)
    opt = hd.SGD(lr=1.0)
    theory = hd.predict_risk(prob, opt, T6)
    system = reduce(prob, opt, 6.0)
    naive = solve_blocks(dataclasses.replace(system, expectations=_NaiveJ(system.expectations)), T6,
                         problem=prob, optimizer=opt)
    sim = hd.simulate(prob, opt, T6, runs=runs, seed=21, progress=False)
    good = hd.compare(theory, sim)
    bad = hd.compare(naive, sim)
    off6 = naive.risk[-1] / sim.risk[-1] - 1
    ok = good.consistent and bad.verdict == "inconsistent" and off6 > 0.2
    ax.plot(theory.t, theory.risk, "k-", label="limit (Stein-form J)")
    ax.plot(naive.t, naive.risk, "r--", label="limit with naive J₁₁ = ½")
    ax.errorbar(sim.t, sim.risk, 2 * sim.risk_stderr, fmt="o", ms=3, label=f"MC ({runs} runs, ±2 s.e.)")
    ax.set(yscale="log", title=f"C5 ReLU teacher–student, d = {d}, γ = 1", xlabel="t = steps/d",
           ylabel="risk h(B)")
    ax.legend(fontsize=7)
    notes = "0.1665 → 0.1019, 0.0666, 0.0443, 0.0299, 0.0204, 0.0141"
    return _row(CPPS, "C5: for ReLU teacher–student (λ uniform on [0.2, 2], γ = 1, 6 epochs) the block "
                      "limit with the Stein-form J is consistent with Monte Carlo; the naive J₁₁ = ½ is "
                      "inconsistent and > 20 % high at t = 6",
                f"limit {np.array2string(theory.risk, precision=4)} vs MC "
                f"{np.array2string(sim.risk, precision=4)}; {good.verdict_text()}; naive: "
                f"{bad.verdict_text()}, +{100 * off6:.0f} % at t = 6 (docs: {notes} for another draw at "
                f"d = 400)", ok)


def relu_whitened(fast, outdir, ax):
    """C5 with P = K⁻¹ on a dense K: one mode, the limit vs Monte Carlo."""
    d, runs = (300, 8) if fast else (400, 20)
    prob = _c5_problem(d, seed=3, dense=True)
    opt = hd.PreconditionedSGD(lr=1.0, preconditioner="whiten")
    theory = hd.predict_risk(prob, opt, T6)
    sim = hd.simulate(prob, opt, T6, runs=runs, seed=22, progress=False)
    cmp = hd.compare(theory, sim)
    plain = hd.predict_risk(prob, hd.SGD(lr=1.0), T6)
    ok = cmp.consistent and theory.info["n_modes"] == 1
    ax.plot(theory.t, theory.risk, "k-", label="limit, P = K⁻¹ (one mode)")
    ax.plot(plain.t, plain.risk, "k:", label="limit, plain SGD")
    ax.errorbar(sim.t, sim.risk, 2 * sim.risk_stderr, fmt="o", ms=3, label=f"MC whitened ({runs} runs)")
    ax.set(yscale="log", title=f"C5 whitened, dense K, d = {d}", xlabel="t = steps/d", ylabel="risk h(B)")
    ax.legend(fontsize=7)
    return _row(CPPS, "C5 with P = K⁻¹ (dense Haar K): the block limit (a single merged mode) is consistent "
                      "with Monte Carlo",
                f"limit {np.array2string(theory.risk, precision=4)} vs MC "
                f"{np.array2string(sim.risk, precision=4)}; {cmp.verdict_text()}", ok)


def _c14_problem(d, seed=0):
    F = sp.Matrix([[1, 0], [0, sp.Rational(3, 10)]])
    Fs = sp.Matrix([[1, sp.Rational(1, 2)], [0, 1]])
    model = hd.models.multi_index(student=lambda r: F * sp.Matrix(r), teacher=lambda s: Fs * sp.Matrix(s),
                                  loss="square", name="linear head F")
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    Xs = rng.standard_normal((d, 2)) / np.sqrt(d)
    X0 = 0.5 * rng.standard_normal((d, 2)) / np.sqrt(d)
    prob = hd.Problem.from_spectrum(lam, teacher=Xs, initial=X0, model=model,
                                    noise=hd.noise.gaussian(np.sqrt(0.05)), label=f"C14 (d={d})")
    Fn = np.array(F.tolist(), dtype=float)
    return prob, np.linalg.inv(Fn.T @ Fn)


def output_factor(fast, outdir, ax):
    """C14: multi-output linear student F·r₁ (F = diag(1, 0.3)), teacher F*; Q_out = I vs (FᵀF)⁻¹."""
    d, runs = (300, 8) if fast else (1000, 20)
    prob, Q = _c14_problem(d)
    parts, ok = [], True
    for label, q, color in (("Q_out = I", None, "C0"), ("Q_out = (FᵀF)⁻¹", Q, "C3")):
        opt = hd.PreconditionedSGD(lr=0.5, output=q)
        theory = hd.predict_risk(prob, opt, T6)
        sim = hd.simulate(prob, opt, T6, runs=runs, seed=23, progress=False)
        cmp = hd.compare(theory, sim)
        ok &= cmp.consistent
        parts.append((label, theory, sim, cmp))
        ax.plot(theory.t, theory.risk, "-", color=color, label=f"limit, {label}")
        ax.errorbar(sim.t, sim.risk, 2 * sim.risk_stderr, fmt="o", ms=3, color=color)
    faster = bool(np.all(parts[1][1].risk[1:] < parts[0][1].risk[1:]))
    ok &= faster
    ax.set(yscale="log", title=f"C14 output factor, m = m* = 2, d = {d}", xlabel="t = steps/d",
           ylabel="risk ½E‖F r₁ − F* r₂ − ε‖²")
    ax.legend(fontsize=7)
    return _row(ZMN, "C14: multi-output linear student with fixed head F = diag(1, 0.3), teacher "
                     "F* = [[1, 0.5], [0, 1]], σ² = 0.05 per output, γ = 0.5: the block limit with the output "
                     "factor is consistent with Monte Carlo for Q_out = I and (FᵀF)⁻¹, and the Gauss–Newton "
                     "output factor is faster at every t ≥ 1",
                "; ".join(f"{lab}: limit {np.array2string(th.risk, precision=4)}, {c.verdict_text()}"
                          for lab, th, _, c in parts) + f"; faster: {faster}", ok)


def logistic(fast, outdir, ax):
    """Logistic regression (Bernoulli labels) from a zero start on a power-law spectrum."""
    d, runs = (500, 8) if fast else (2000, 16)
    prob = hd.Problem.power_law(d=d, alpha=0.5, beta=1.0, model=hd.models.logistic(), seed=0,
                                initial_size=4.0)
    opt = hd.SGD(lr=1.0)
    t = np.linspace(0, 8, 9)
    theory = hd.predict_risk(prob, opt, np.linspace(0, 8, 81))
    sim = hd.simulate(prob, opt, t, runs=runs, seed=24, progress=False)
    cmp = hd.compare(hd.predict_risk(prob, opt, t), sim)
    ok = cmp.consistent and theory.risk[-1] < theory.risk[0]
    ax.plot(theory.t, theory.risk, "k-", label="limit")
    ax.errorbar(sim.t, sim.risk, 2 * sim.risk_stderr, fmt="o", ms=3, label=f"MC ({runs} runs)")
    ax.set(title=f"logistic regression, power law α = 0.5, d = {d}", xlabel="t = steps/d",
           ylabel="cross-entropy risk (Bayes term included)")
    ax.legend(fontsize=7)
    return _row(CPPS, "logistic regression (labels Bernoulli(σ(r*)), x*ᵀKx* = 4, student from 0, γ = 1): the "
                      "block limit (Gauss–Hermite cubature) is consistent with Monte Carlo",
                f"risk {theory.risk[0]:.4f} → {theory.risk[-1]:.4f} at t = 8; {cmp.verdict_text()}", ok)


def _phase_retrieval_problem(d, seed=5, spread=0.53):
    """λ uniform on [0.2, 2], x*ᵀKx* = 1, student 0.6·x* + g with gᵀKg = ``spread`` K-orthogonal to x*
    (default: a = 0.89, b = 1, c = 0.6); noise 0.1."""
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 2.0, d)
    xs = rng.standard_normal(d)
    xs /= np.sqrt(np.sum(lam * xs * xs))
    g = rng.standard_normal(d)
    g -= xs * np.sum(lam * g * xs)
    g *= np.sqrt(spread / np.sum(lam * g * g))
    return hd.Problem.from_spectrum(lam, teacher=xs, initial=0.6 * xs + g, model=hd.models.phase_retrieval(),
                                    noise=hd.noise.gaussian(0.1))


def phase_retrieval_edge(fast, outdir):
    """The curvature heuristic vs the measured edge of the limit, for phase retrieval (docs/glm.md §6)."""
    prob = _phase_retrieval_problem(500)
    res = hd.glm_critical_lr(prob, hd.SGD(lr=0.1), t_max=10.0, rel_tol=1e-2)
    ok = 0.14 <= res.measured <= 0.22 and res.heuristic > 2 * res.measured
    return _row(CPPS, "phase retrieval from a ≈ 0.89, b = 1 (here c = 0.6): the limit's edge lies near "
                      "γ ≈ 0.15–0.2 (docs/glm.md §8: between 0.16 and 0.2 for a start whose c is not stated; "
                      "asserted: in [0.14, 0.22]), while the curvature heuristic 2d/(tr K·E f'') suggests "
                      "≈ 0.5 (asserted: > 2× the edge) — a heuristic, not an edge",
                str(res), ok)


def run(fast: bool, outdir) -> list:
    """Run every GLM claim; the figure ``glm_limits.png`` goes to ``outdir``."""
    rows = []
    fig = _fig()
    axs = fig.subplots(1, 4)
    steps = ((closed_forms, None), (relu_limit, axs[0]), (relu_whitened, axs[1]), (output_factor, axs[2]),
             (logistic, axs[3]), (phase_retrieval_edge, None))
    for fn, ax in steps:
        start = time.perf_counter()
        rows.append(fn(fast, outdir) if ax is None else fn(fast, outdir, ax))
        rows[-1]["seconds"] = time.perf_counter() - start
    for a in fig.axes:
        a.title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(f"{outdir}/glm_limits.png")
    return rows
