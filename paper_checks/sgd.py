"""SGD on streaming least squares: thresholds, plateaus, exact recursion, preconditioning, critical batch.

Papers
------
* [HSGD] C. Paquette, E. Paquette, B. Adlam, J. Pennington, *Homogenization of SGD in high-dimensions:
  exact dynamics and generalization properties*, arXiv:2205.07069.
* [NOTES] E. Collins-Woodfin, C. Paquette, E. Paquette, I. Seroussi, *Hitting the high-dimensional
  notes: an ODE for SGD learning dynamics on GLMs and multi-index models*, arXiv:2308.08977.
* [LCPP] K. Lee, A. Cheng, E. Paquette, C. Paquette, *Trajectory of mini-batch momentum: batch size
  saturation and convergence in high dimensions*, NeurIPS 2022 (critical batch size).
The claims and their numbers are those of docs/sgd.md §7 (C1, C2 and the preconditioned C1–C4),
which restates these papers.

Conventions
-----------
hdlimits: step ``γ/d`` on the minibatch gradient, time ``t = steps/d``, risk ``R = ½(eᵀKe + E ε²)``
(noise floor included), excess risk ``½eᵀKe``. The papers write ``R`` for the *excess* risk and
``η`` for our ``γ`` (with ``N = d``): its plateau ``R∞`` is our ``excess_risk``, and our ``risk`` is
``R∞ + ½E ε²``. The preconditioning paper's ``L`` is our ``risk``. Every claim below is measured by the limiting
equations (the ODE and/or the exact expected recursion) and by Monte Carlo simulation.
"""
from __future__ import annotations

import math
import time

import numpy as np

import hdlimits as hd
from hdlimits.reductions import reduce
from hdlimits.models.least_squares.diagnostics import critical_lr, kernel_mass, stationary_risk

HSGD = "Paquette, Paquette, Adlam, Pennington 2022 (HSGD, arXiv:2205.07069)"
NOTES = "Collins-Woodfin, Paquette, Paquette, Seroussi 2023 (arXiv:2308.08977)"
LCPP = "Lee, Cheng, Paquette, Paquette 2022 (critical batch size, NeurIPS)"
PRE = "preconditioned SGD = SGD on K̃ = P^½KP^½ (docs/sgd.md §4)"


# ------------------------------------------------------------------------------ helpers
def _row(paper, claim, measured, passed, **extra):
    return {"paper": paper, "claim": claim, "measured": measured, "passed": bool(passed), **extra}


def _fig():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(13, 4), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _plateau(sim, t_burn):
    """Per-run time average of the risk over t ≥ t_burn → (mean over runs, standard error)."""
    keep = sim.t >= t_burn
    per_run = sim.risk_runs[:, keep].mean(axis=1)
    return float(per_run.mean()), float(per_run.std(ddof=1) / math.sqrt(per_run.size))


def _excess_plateau(sim, t_burn):
    keep = sim.t >= t_burn
    per_run = sim.excess_risk_runs[:, keep].mean(axis=1)
    return float(per_run.mean()), float(per_run.std(ddof=1) / math.sqrt(per_run.size))


def _haar_problem(d=200, seed=0):
    """docs/sgd.md §7, preconditioned C1: K = QΛQᵀ (Haar Q), λ_i ∝ 1/i, tr K = d; e_0 ~ N(0, 4I/d); σ² = 0.05."""
    rng = np.random.default_rng(seed)
    lam = 1.0 / np.arange(1, d + 1)
    lam *= d / lam.sum()
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    Q = q * np.sign(np.diagonal(r))
    e0 = rng.standard_normal(d) * math.sqrt(4.0 / d)
    noise = hd.noise.gaussian(math.sqrt(0.05))
    dense = hd.Problem.from_spectrum(lam, Q @ e0, noise, basis=Q, label=f"Haar 1/i (d={d})")
    # the same law in the eigenbasis (Gaussian SGD with P a function of K is rotation-equivariant)
    diag = hd.Problem.from_spectrum(lam, e0, noise, label=f"diag 1/i (d={d})")
    return dense, diag


def _opt(lr, P=None, batch=1):
    return hd.SGD(lr, batch=batch) if P is None else hd.PreconditionedSGD(lr, P, batch=batch)


# ------------------------------------------------------------------------------ claims
def plateau_isotropic(fast, outdir, ax):
    """docs/sgd.md §7 C1: K = I, N = d, η = 1, E ε² = 1 → R∞ = 0.5 (excess) = risk 1.0 here."""
    d, runs = (500, 8) if fast else (1000, 16)
    prob = hd.Problem.isotropic(d, noise=hd.noise.gaussian(1.0), initial_size=4.0, seed=3)
    opt = hd.SGD(1.0)
    claim_excess = 0.5
    ours = claim_excess + 0.5 * 1.0                      # risk = R∞ + ½E ε²
    inf_d = stationary_risk(prob, opt, finite_d=False)
    ode = hd.predict_risk(prob, opt, np.linspace(0, 40, 81))
    t = np.linspace(0, 30, 121)
    sim = hd.simulate(prob, opt, t, runs=runs, seed=11, progress=False)
    m, se = _plateau(sim, 10.0)
    ok = (abs(inf_d - ours) < 1e-12 and abs(ode.risk[-1] - ours) <= 2.0 / d
          and abs(m - ode.risk[-1]) <= 4 * se and se < 0.01)
    ax.plot(ode.t, ode.risk, "k-", label="ODE")
    ax.errorbar(sim.t[::4], sim.risk[::4], sim.risk_stderr[::4], fmt=".", label=f"MC ({runs} runs)")
    ax.axhline(ours, color="r", ls=":", label="claimed: R∞ + ½Eε² = 1.0")
    ax.set(title=f"K = I, d = {d}, γ = 1, σ = 1", xlabel="t", ylabel="risk")
    ax.legend(fontsize=7)
    return _row(f"{HSGD}; {NOTES}",
                "C1 plateau: K = I, γ = 1, E ε² = 1 → R∞ = 0.5 excess (claimed) = risk 1.0 (hdlimits); "
                "ODE within 2/d (finite-d term), MC plateau within 4 s.e. of the ODE",
                f"d→∞ formula {inf_d:.6f}; ODE(t=40) {ode.risk[-1]:.6f}; MC plateau {m:.5f} ± {se:.5f} "
                f"(d={d}, {runs} runs, t∈[10,30])", ok)


def plateau_power_law(fast, outdir, ax):
    """docs/sgd.md §7 C1: K = diag(i^-0.5), d = 1000, η = 10, σ = 0.5 → R∞ = 0.05590 (excess)."""
    d, runs = 1000, (4 if fast else 16)
    lam = np.arange(1, d + 1) ** -0.5                    # not normalised (as in the paper)
    prob = hd.Problem.from_spectrum(lam, np.zeros(d), hd.noise.gaussian(0.5), label="diag(i^-0.5)")
    opt = hd.SGD(10.0)
    claimed = 0.05590
    inf_d = stationary_risk(prob, opt, finite_d=False) - 0.125
    ode = hd.predict_risk(prob, opt, np.linspace(0, 100, 201))
    t = np.linspace(0, 30 if fast else 60, 121)
    sim = hd.simulate(prob, opt, t, runs=runs, seed=12, progress=False)
    m, se = _excess_plateau(sim, 10.0)
    ode_ex = float(ode.excess_risk[-1])
    ok = (abs(inf_d - claimed) < 5e-6 and abs(ode_ex - claimed) / claimed < 0.01
          and abs(m - ode_ex) <= 4 * se and se / ode_ex < 0.02)
    ax.plot(ode.t, ode.excess_risk, "k-", label="ODE")
    ax.errorbar(sim.t[::4], sim.excess_risk[::4], sim.excess_risk_stderr[::4], fmt=".",
                label=f"MC ({runs} runs)")
    ax.axhline(claimed, color="r", ls=":", label="claimed R∞ = 0.05590 (C1)")
    ax.set(title="diag(i^-0.5), d = 1000, γ = 10, σ = 0.5", xlabel="t", ylabel="excess risk ½eᵀKe",
           xlim=(0, t[-1]))
    ax.legend(fontsize=7)
    return _row(f"{HSGD}; {NOTES}",
                "C1 plateau: K = diag(i^-0.5), d = 1000, γ = 10, σ = 0.5 → excess R∞ = 0.05590 "
                "(risk 0.18090 here); ODE within 1 %, MC within 4 s.e. of the ODE",
                f"d→∞ formula {inf_d:.5f}; ODE excess(t=100) {ode_ex:.5f}; MC excess plateau "
                f"{m:.5f} ± {se:.5f} ({runs} runs)", ok)


def stability_threshold(fast, outdir):
    """docs/sgd.md §5, §7 C1: stable iff γ tr K/(2dB) < 1."""
    d = 500 if fast else 1000
    prob = hd.Problem.isotropic(d, noise=hd.noise.gaussian(1.0), initial_size=1.0, seed=4)
    parts, ok = [], True
    for B in (1, 4):
        gc = 2 * d * B / prob.trace
        for f in (0.9, 1.1):
            opt = hd.SGD(f * gc, batch=B)
            ode = hd.predict_risk(prob, opt, [0.0, 100.0])
            t_sim = np.linspace(0, 40 if fast else 100, 41)
            sim = hd.simulate(prob, opt, t_sim, runs=2, seed=13, progress=False)
            want_div = f > 1
            sim_div = sim.diverged or bool(np.isfinite(sim.risk[-1]) and sim.risk[-1] > 1e6)
            ok &= ode.diverged == want_div and sim_div == want_div
            parts.append(f"B={B} γ/γc={f}: ODE {ode.status}, MC {sim.status} (risk at t={t_sim[-1]:g}: "
                         f"{sim.risk[-1]:.3g})")
    return _row(f"{HSGD}; {NOTES}",
                "C1 threshold: the limit (and SGD) converges for γ tr K/(2dB) = 0.9 and diverges for 1.1 "
                f"(K = I, d = {d}, σ = 1, B ∈ {{1, 4}}; ODE to t = 100; MC 2 runs, divergence = stopped as "
                "diverged or risk > 10⁶ at the last time)", "; ".join(parts), ok)


def exact_recursion(fast, outdir, ax):
    """docs/sgd.md §7 C2: the finite-d second-moment recursion equals the MC mean."""
    d, runs = 20, (2000 if fast else 40000)
    prob = hd.Problem.power_law(d, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.5), seed=5)
    opt = hd.SGD(1.0)
    t = np.linspace(0, 5, 11)
    rec = hd.predict_risk(prob, opt, t, method="recursion")
    sim = hd.simulate(prob, opt, t, runs=runs, seed=14, progress=False)
    z = np.abs(sim.risk[1:] - rec.risk[1:]) / sim.risk_stderr[1:]
    rel = np.abs(sim.risk[1:] / rec.risk[1:] - 1)
    ok = bool(np.all(z <= 4.5)) and rec.info.get("exact", False)
    ax.plot(rec.t, rec.risk, "k-", label="exact recursion")
    ax.errorbar(sim.t, sim.risk, 2 * sim.risk_stderr, fmt="o", ms=3, label=f"MC mean ± 2 s.e. ({runs})")
    ax.set(title=f"power law, d = {d}, γ = 1", xlabel="t", ylabel="risk")
    ax.legend(fontsize=7)
    return _row(f"{HSGD}; {NOTES}",
                "C2 exact recursion: at d = 20 the expected per-step recursion equals the MC mean risk "
                "to O(1/√runs) (every recorded time within 4.5 s.e.)",
                f"max |MC − rec|/s.e. = {z.max():.2f}, max relative gap {rel.max():.2e} ({runs} runs)",
                ok)


def preconditioned_recursion(fast, outdir, ax):
    """docs/sgd.md §7, preconditioned C1: MC of preconditioned SGD matches the recursion on K̃ (Haar K, d = 200)."""
    dense, _ = _haar_problem()
    runs = 8 if fast else 40
    t = np.arange(0, 9, dtype=float)
    parts, ok = [], True
    for P, tr_want in ((None, 1.0), ("diag", 1.0), ("sqrt", 0.783)):
        opt = _opt(0.8, P)
        tr = float(reduce(dense, opt).kappa.sum() / dense.d)
        rec = hd.predict_risk(dense, opt, t, method="recursion")
        sim = hd.simulate(dense, opt, t, runs=runs, seed=15, progress=False)
        rel = float(np.max(np.abs(sim.risk[1:] / rec.risk[1:] - 1)))
        # the tolerance follows from the run count: compare's verdict (Bonferroni–Student-t over the
        # times, family-wise level 0.01) on the risk; the notes' "within 4 % at 40 runs" is reported
        cmp = hd.compare(rec, sim, quantity="risk")
        ok &= abs(tr - tr_want) < 5e-4 and cmp.consistent
        parts.append(f"P={P or 'I'}: tr K̃/d = {tr:.3f}, max rel gap {rel:.3f}, max |z| {cmp.max_abs_z:.2f} "
                     f"(≤ {cmp.z_threshold:.2f})")
        ax.plot(t, rec.risk, "-", label=f"P = {P or 'I'} recursion")
        ax.plot(t, sim.risk, "o", ms=3, color=ax.lines[-1].get_color())
    ax.set(title="Haar K (1/i), d = 200, γ = 0.8 (dots: MC)", xlabel="t (epochs)", ylabel="risk",
           yscale="log")
    ax.legend(fontsize=7)
    return _row(f"{PRE}; {HSGD}",
                "preconditioned C1: d = 200 Haar K, γ = 0.8, σ² = 0.05, 8 epochs: MC mean consistent with "
                f"the recursion on K̃ ({runs} runs, compare's verdict at family-wise level 0.01; the notes "
                "saw gaps within 4 % at 40 runs) for P ∈ {I, diag(K)⁻¹, K^-½}; tr K̃/d = 1, 1, 0.783",
                "; ".join(parts), ok)


def finite_d_threshold(fast, outdir):
    """docs/sgd.md §7, preconditioned C2: at 0.9γ_c, M_d = 1.001 (P = I, diverges) vs 0.914 (P = K^-½, bounded)."""
    _, prob = _haar_problem()
    epochs = 1000 if fast else 3000
    parts, ok = [], True
    for P, md_want, diverges in ((None, 1.001, True), ("sqrt", 0.914, False)):
        gc = critical_lr(prob, _opt(1.0, P), finite_d=False)
        opt = _opt(0.9 * gc, P)
        md = kernel_mass(prob, opt)
        m_inf = kernel_mass(prob, opt, finite_d=False)
        rec = hd.predict_risk(prob, opt, [0.0, epochs], method="recursion")
        grows = rec.risk[-1] > 100 * rec.risk[0]
        ok &= abs(md - md_want) < 5e-4 and abs(m_inf - 0.9) < 1e-12 and grows == diverges
        if not fast and P is None:
            ok &= 0.9e6 < rec.risk[-1] < 1.8e6            # claimed: ≈ 1.3e6 after 3000 epochs
        parts.append(f"P={P or 'I'}: M_d(0.9γc) = {md:.4f} (d→∞ mass {m_inf:.3f}), recursion risk "
                     f"after {epochs} epochs {rec.risk[-1]:.4g}")
    # simulation: just above γ_c, P = I diverges; just below (P = K^-½) stays at the exact floor (C3)
    gc = critical_lr(prob, _opt(1.0), finite_d=False)
    sim = hd.simulate(prob, _opt(1.1 * gc), np.linspace(0, 50, 11), runs=2, seed=16, progress=False)
    ok &= sim.diverged
    parts.append(f"MC P=I at 1.1γc: {sim.status}")
    return _row(f"{PRE}; {HSGD}",
                "preconditioned C2: same K (d = 200), γ = 0.9·2d/tr(PK): the exact kernel mass M_d is "
                "1.001 for P = I (expected risk grows without bound, ≈1.3e6 after 3000 epochs) and 0.914 "
                "for P = K^-½ (bounded); the d→∞ mass is 0.900 for both", "; ".join(parts), ok)


def exact_floor(fast, outdir, ax):
    """docs/sgd.md §7, preconditioned C3: L∞ = (σ²/2)/(1 − M_d) — 0.05288, 0.05042, 0.28931."""
    _, prob = _haar_problem()
    runs = 8 if fast else 24
    parts, ok = [], True
    cases = ((None, 0.5, 0.05288), ("sqrt", 0.5, 0.05042), ("sqrt", 0.9, 0.28931))
    for k, (P, f, want) in enumerate(cases):
        gc = critical_lr(prob, _opt(1.0, P), finite_d=False)
        opt = _opt(f * gc, P)
        exact = stationary_risk(prob, opt)
        limit = stationary_risk(prob, opt, finite_d=False)
        rec = hd.predict_risk(prob, opt, [0.0, 300.0], method="recursion")
        t = np.linspace(0, 60 if fast else 120, 121)
        sim = hd.simulate(prob, opt, t, runs=runs, seed=17 + k, progress=False)
        m, se = _plateau(sim, 20.0)
        ok &= (abs(exact - want) < 1e-5 and abs(rec.risk[-1] - exact) < 1e-6 * exact
               and abs(m - exact) <= 4 * se)
        sep = abs(limit - exact) / se
        parts.append(f"P={P or 'I'} {f}γc: exact {exact:.5f}, recursion {rec.risk[-1]:.5f}, d→∞ "
                     f"{limit:.5f}, MC {m:.5f} ± {se:.5f} ({sep:.0f} s.e. from the d→∞ value)")
        ax.bar(k - 0.2, exact, 0.2, color="k", label="exact finite d" if k == 0 else None)
        ax.bar(k, limit, 0.2, color="0.6", label="d→∞ formula" if k == 0 else None)
        ax.bar(k + 0.2, m, 0.2, yerr=2 * se, color="C0", label="MC ± 2 s.e." if k == 0 else None)
    ax.set_xticks(range(3), [f"P={P or 'I'}, {f}γc" for P, f, _ in cases], fontsize=7)
    ax.set(title="stationary risk (Haar 1/i, d = 200, σ² = 0.05)", ylabel="risk", yscale="log")
    ax.legend(fontsize=7)
    return _row(f"{PRE}; {HSGD}",
                "preconditioned C3: floor L∞ = (σ²/2)/(1 − M_d): 0.05288 (P = I, 0.5γc), 0.05042 "
                "(P = K^-½, 0.5γc), 0.28931 (P = K^-½, 0.9γc); recursion reaches it, MC within 4 s.e.",
                "; ".join(parts), ok)


def whitening(fast, outdir):
    """docs/sgd.md §7, preconditioned C4: SGD with P = K⁻¹ on N(0, K) has the law of plain SGD on N(0, I)."""
    dense, _ = _haar_problem()
    runs = 8 if fast else 40
    iso = hd.Problem.from_spectrum(np.ones(dense.d), dense.covariance_sqrt @ dense.initial_error,
                                   dense.noise, label="isotropic, e0 = K^½e0")
    t = np.arange(0, 9, dtype=float)
    rec_w = hd.predict_risk(dense, _opt(0.8, "whiten"), t, method="recursion")
    rec_i = hd.predict_risk(iso, hd.SGD(0.8), t, method="recursion")
    sim_w = hd.simulate(dense, _opt(0.8, "whiten"), t, runs=runs, seed=21, progress=False)
    sim_i = hd.simulate(iso, hd.SGD(0.8), t, runs=runs, seed=22, progress=False)
    th = float(np.max(np.abs(rec_w.risk / rec_i.risk - 1)))
    se = np.hypot(sim_w.risk_stderr[1:], sim_i.risk_stderr[1:])
    z = float(np.max(np.abs(sim_w.risk[1:] - sim_i.risk[1:]) / se))
    ok = th < 1e-12 and z <= 4.0
    return _row(PRE, "preconditioned C4: whitening P = K⁻¹ on N(0, K) (Haar K, d = 200, γ = 0.8) has the "
                "law of SGD on N(0, I) from K^½e0: identical recursions, MC means within 4 s.e.",
                f"recursions differ by {th:.1e} (relative); MC max gap {z:.2f} s.e. ({runs} runs each)",
                ok)


def critical_batch(fast, outdir, ax):
    """docs/sgd.md §5 / [LCPP]: B_crit = tr K/λ_max separates γ_c ∝ B from saturation."""
    _, prob = _haar_problem()
    d, lam_max = prob.d, float(prob.eigenvalues.max())
    b_crit = prob.trace / lam_max
    Bs = np.array([1, 2, 4, 8, 16, 32, 64])
    gc = np.array([critical_lr(prob, hd.SGD(1.0, batch=int(B))) for B in Bs])
    kern = 2 * d * Bs / prob.trace
    det = 2 * d / ((1 + 1 / Bs) * lam_max)
    small = Bs <= b_crit / 4
    large = Bs >= 4 * b_crit
    ok = bool(np.all(gc[small] / kern[small] >= 0.8) and np.all(gc[large] / det[large] >= 0.95)
              and np.all(gc <= np.minimum(kern, det) * (1 + 1e-9)))
    # simulation at B = 64: 10 % above the deterministic edge diverges, 10 % below converges, though
    # both are ~10× below the kernel-mass boundary 2dB/tr K
    parts = []
    runs = 2
    for f in (0.9, 1.1):
        opt = hd.SGD(f * gc[-1], batch=64)
        mark = ("rx" if f > 1 else "g^")
        t_sim = np.round(np.linspace(0, 3 if fast else 10, 7) * prob.d) / prob.d   # on the 1/d grid
        sim = hd.simulate(prob, opt, t_sim, runs=runs, seed=23, progress=False)
        rec = hd.predict_risk(prob, opt, [0.0, 10.0], method="recursion")
        want = f > 1
        ok &= sim.diverged == want and rec.diverged == want
        ax.plot([64], [f * gc[-1]], mark, ms=8,
                label=f"MC B=64 at {f}γc: {'diverged' if sim.diverged else 'converged'}")
        parts.append(f"B=64 at {f}·γc (= {f * gc[-1] / kern[-1]:.3f} of 2dB/trK): MC {sim.status}, "
                     f"recursion {rec.status}")
    ax.plot(Bs, gc, "ko-", label="finite-d critical γ (exact M_d = 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.loglog(Bs, kern, "--", label="2dB/tr K (kernel mass)")
    ax.loglog(Bs, det, ":", label="2d/((1+1/B)λmax)")
    ax.axvline(b_crit, color="purple", ls="-.", label=f"B_crit = {b_crit:.2f}")
    ax.set(title="critical batch size (Haar 1/i, d = 200)", xlabel="B", ylabel="critical γ")
    ax.legend(fontsize=7)
    measured = (f"B_crit = {b_crit:.2f}; γc/(2dB/trK) = {', '.join(f'{x:.3f}' for x in gc / kern)} "
                f"and γc/(2d/((1+1/B)λmax)) = {', '.join(f'{x:.3f}' for x in gc / det)} for B = "
                f"{', '.join(map(str, Bs))}; " + "; ".join(parts))
    return _row(f"{LCPP}; docs/sgd.md §5",
                "critical batch size B_crit = tr K/λ_max: the critical γ follows 2dB/tr K (≥ 80 %) for "
                "B ≤ B_crit/4 and saturates at 2d/((1+1/B)λ_max) (≥ 95 %) for B ≥ 4B_crit; MC and the "
                "exact recursion at B = 64 diverge 10 % above the saturated edge and converge 10 % below",
                measured, ok)


def run(fast: bool, outdir) -> list:
    """Run every SGD claim; figures ``sgd_*.png`` go to ``outdir``."""
    rows = []
    fig1 = _fig()
    axs = fig1.subplots(1, 3)
    for fn, ax in ((plateau_isotropic, axs[0]), (plateau_power_law, axs[1]), (exact_recursion, axs[2])):
        start = time.perf_counter()
        rows.append(fn(fast, outdir, ax))
        rows[-1]["seconds"] = time.perf_counter() - start
    for a in fig1.axes:
        a.title.set_fontsize(9)
    fig1.tight_layout()
    fig1.savefig(f"{outdir}/sgd_plateaus_recursion.png")
    rows.append(stability_threshold(fast, outdir))
    fig2 = _fig()
    axs = fig2.subplots(1, 3)
    rows.append(preconditioned_recursion(fast, outdir, axs[0]))
    rows.append(finite_d_threshold(fast, outdir))
    rows.append(exact_floor(fast, outdir, axs[1]))
    rows.append(whitening(fast, outdir))
    rows.append(critical_batch(fast, outdir, axs[2]))
    for a in fig2.axes:
        a.title.set_fontsize(9)
    fig2.tight_layout()
    fig2.savefig(f"{outdir}/sgd_preconditioned.png")
    return rows
