"""Layer-wise preconditioning and feature learning (docs/feature_learning.md §7).

Paper: Zhang, Moniri, Nagwekar, Rahman, Xue, Hassani, Matni, *On the concurrence of layer-wise
preconditioning methods and provable feature learning*, ICML 2025, arXiv 2502.01763. Qualitative
statements checked: the KFAC-like method learns the representation at a rate free of the condition number
of the inputs; SGD degrades as κ grows; Adam-like diagonal preconditioning and batch-norm only mildly help;
in the single-index model the preconditioned one-step spike aligns with β while the SGD spike is biased
towards Σβ. The numbers the rows quote for comparison are the reference values of docs/feature_learning.md
§7 (our replication defaults; the paper's experiment parameters are not known to us).
"""
from __future__ import annotations

import numpy as np

from hdlimits import feature_learning as fl
from hdlimits.feature_learning import limit as L
from hdlimits.feature_learning.plot import COLORS

PAPER = "Zhang, Moniri, Nagwekar, Rahman, Xue, Hassani, Matni, ICML 2025 (arXiv 2502.01763)"
KAPPAS = (1.0, 10.0, 100.0, 1000.0)


def _row(claim, measured, passed, **extra):
    return {"paper": PAPER, "claim": claim, "measured": measured, "passed": bool(passed), **extra}


def _z(runs, m=1, alpha=1e-3):
    from scipy import stats
    return float(stats.t.ppf(1.0 - alpha / (2.0 * m), runs - 1))


def _population_rows():
    rows = []
    kf, sg = [], []
    for kappa in (10.0, 100.0, 1000.0):
        task = fl.LinearRepresentation(30, 3, 3, kappa, 0.0, seed=0)
        task.F_star = np.eye(3)
        dk, _ = fl.population_iteration(task, "kfac", steps=12, lr=0.5)
        ds, _ = fl.population_iteration(task, "sgd", steps=60, lr=1.0)
        kf.append(dk[8] / dk[7])
        sg.append(ds[-1] / ds[-2])
    rows.append(_row("population iteration (d_x = 30, k = d_y = 3, F* = I, head refit): the KFAC-like step "
                     "(P_G = FᵀF, Q_G = Σ, η = 0.5) contracts the subspace distance by 1 − η for every κ "
                     "(κ = 10, 100, 1000; reference 0.500)",
                     "ratios " + ", ".join(f"{r:.4f}" for r in kf), all(abs(r - 0.5) < 0.01 for r in kf)))
    rows.append(_row("population iteration: the gradient step 1/(‖F‖²λ_max) contracts at ≈ 1 − 1/κ, i.e. "
                     "degrades with κ (reference 0.897, 0.986, 0.996 after 60 steps)",
                     "ratios " + ", ".join(f"{r:.4f}" for r in sg),
                     sg[0] < sg[1] < sg[2] and 0.8 < sg[0] < 0.95 and 0.98 < sg[1] < 0.995 and sg[2] > 0.99))
    task = fl.LinearRepresentation(50, 3, 5, 1000.0, 0.0, seed=0)
    r = fl.train(task, "kfac", steps=1, batch=4000, lr=1.0, seed=0, runs=2)
    d1 = r.subspace_distance.runs[:, 1].max()
    rows.append(_row("noiseless batch n = 4000 ≥ d_x = 50, κ = 1000, η = 1: KFAC recovers rowspace(G*) in one "
                     "step (reference 3e-13)", f"distance after one step ≤ {d1:.1e}", d1 < 1e-8))
    return rows


def _finite_batch_rows(runs, steps, ax):
    res = {}
    for kappa in KAPPAS:
        task = fl.LinearRepresentation(50, 3, 5, kappa, 0.1, data="rademacher", seed=0)
        res[kappa] = fl.compare_methods(task, ["sgd", "kfac", "adam", "batchnorm"], steps=steps, batch=256,
                                        lr=0.5, seed=1, runs=runs)
    fin = {m: np.array([res[k][m].subspace_distance.mean[-1] for k in KAPPAS]) for m in res[1.0]}
    se = {m: np.array([res[k][m].subspace_distance.stderr[-1] for k in KAPPAS]) for m in res[1.0]}
    txt = "; ".join(f"{m} " + "/".join(f"{x:.3f}" for x in fin[m]) for m in fin)
    z = _z(runs, m=8)
    rows = []
    s = fin["sgd"]
    rows.append(_row("finite batches (d_x = 50, k = 3, d_y = 5, n = 256 Rademacher, σ = 0.1, head refit, lr 0.5, "
                     f"{steps} steps): SGD's final subspace distance degrades with κ = 1/10/100/1000 "
                     "(reference plain gradient 0.40/0.78/0.88/0.91)",
                     txt, s[3] - s[0] > z * np.hypot(se["sgd"][3], se["sgd"][0]) and s[3] > 0.5))
    gap = fin["sgd"] - fin["kfac"]
    ok = all(gap[i] > z * np.hypot(se["sgd"][i], se["kfac"][i]) for i in (2, 3))
    rows.append(_row("KFAC-like is a much better feature learner than SGD once κ is large (κ = 100, 1000)",
                     f"sgd − kfac = {gap[2]:.3f}, {gap[3]:.3f}", ok))
    rows.append(_row("with label noise the KFAC floor grows with κ — the condition-number-free statement is "
                     "about the rate (reference KFAC 0.083/0.168/0.370/0.672 at an unknown step size)",
                     "kfac " + "/".join(f"{x:.3f}" for x in fin["kfac"]),
                     bool(np.all(np.diff(fin["kfac"]) > 0))))
    mild = []
    for m in ("adam", "batchnorm"):
        help_ = fin["sgd"][2:] - fin[m][2:]
        mild.append(bool(np.all(help_ < 0.5 * gap[2:])))
    rows.append(_row("Adam-like diagonal factors and batch-norm help only mildly: at κ = 100, 1000 they close "
                     "less than half of the SGD–KFAC gap (reference diagonal 0.85/0.88 vs plain 0.88/0.91)",
                     "sgd − adam = " + ", ".join(f"{x:.3f}" for x in fin["sgd"][2:] - fin["adam"][2:])
                     + "; sgd − batchnorm = " + ", ".join(f"{x:.3f}" for x in fin["sgd"][2:] - fin["batchnorm"][2:]),
                     all(mild)))
    # noiseless, finite batches: the KFAC rate is κ-free
    nl = []
    for kappa in KAPPAS:
        task = fl.LinearRepresentation(50, 3, 5, kappa, 0.0, seed=0)
        nl.append(fl.train(task, "kfac", steps=20, batch=256, lr=0.5, seed=1, runs=2).subspace_distance.mean)
    r10 = [c[15] / c[10] for c in nl]
    rows.append(_row("noiseless finite batches: KFAC's per-step contraction is the same for κ = 1…1000 "
                     "(0.5⁵ = 0.03125 over 5 steps)", "ratios " + ", ".join(f"{x:.4f}" for x in r10),
                     all(abs(x - 0.03125) < 0.005 for x in r10)))
    for m, col in COLORS.items():
        if m in fin:
            ax.errorbar(KAPPAS, fin[m], yerr=se[m], color=col, marker="o", label=m, capsize=3)
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("κ(Σ)"); ax.set_ylabel(f"subspace distance after {steps} steps")
    ax.set_title("C9: finite batches, n = 256, σ = 0.1", fontsize=10)
    ax.legend(fontsize=8); ax.grid(True, which="both", alpha=0.3)
    return rows


def _single_index_rows(runs):
    si = fl.SingleIndex(200, 4000, 100, "relu+linear", 100.0, seed=0)
    res = {p: si.one_step(p, runs=runs) for p in (None, "full", "diag")}
    c0 = si.population(None)["cos_beta"]
    n, f, dg = res[None], res["full"], res["diag"]
    z = _z(runs, m=3)
    txt = (f"cos(β, Σβ) = {c0:.3f}; none |cos β| = {n.cos_beta:.3f} ± {n.cos_beta_stderr:.3f}, |cos Σβ| = "
           f"{n.cos_sigma_beta:.3f}; full {f.cos_beta:.3f} / {f.cos_sigma_beta:.3f}; diag {dg.cos_beta:.3f} "
           f"(Monte Carlo, {runs} runs)")
    return [
        _row("single index (d = 200, n = 4000, N = 100 tanh, κ = 100, f* = relu(z) + z/2): the SGD spike is "
             "biased towards Σβ (reference |cos| with β / Σβ = 0.651 / 0.929)", txt,
             n.cos_sigma_beta - n.cos_beta > z * np.hypot(n.cos_sigma_beta_stderr, n.cos_beta_stderr)),
        _row("right preconditioning by (Σ̂ + 10⁻³I)⁻¹ aligns the spike with β (reference 0.885 / 0.621)", txt,
             f.cos_beta > 0.85 and f.cos_beta - n.cos_beta > z * np.hypot(f.cos_beta_stderr, n.cos_beta_stderr)),
        _row("diagonal preconditioning barely helps on a rotated Σ (reference 0.658 vs 0.651)", txt,
             abs(dg.cos_beta - n.cos_beta) < 0.1),
    ]


def _limit_rows(fast, runs, ax):
    d = 1000 if fast else 2000
    task = fl.LinearRepresentation(d, 3, 5, 100.0, 0.1, data="gaussian", seed=0)
    t = np.array([0.0, 0.5, 1.0, 2.0]) if fast else np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    rows = []
    for method, col in (("sgd", "tab:blue"), ("kfac", "tab:red")):
        lim = fl.predict(task, method, t, lr=0.5)
        mc = L.simulate_streaming(task, method, t, lr=0.5, runs=runs, seed=3)
        z = _z(runs, m=2 * t.size)
        worst, ok = 0.0, True
        for name in ("loss", "transfer_loss"):
            c = mc[name]
            gap = np.abs(c.mean - getattr(lim, name))
            ok &= bool(np.all(gap <= z * c.stderr + 0.01 * np.abs(getattr(lim, name))))
            worst = max(worst, float(np.max(gap / np.abs(getattr(lim, name)))))
        sd = float(np.max(np.abs(mc["subspace_distance"].mean - lim.subspace_distance)))
        rows.append(_row(f"beyond the paper: the d_x → ∞ streaming limit with the head refit (population LS) "
                         f"matches streaming MC at d_x = {d}, κ = 100, {method}",
                         f"loss {lim.loss[-1]:.4f} (limit) vs {mc['loss'].mean[-1]:.4f} ± {mc['loss'].stderr[-1]:.4f}"
                         f" (MC) at t = {t[-1]:g}; worst relative gap (loss, transfer) {worst:.3%}; subspace "
                         f"distance max gap {sd:.4f}", ok and sd < 0.02))
        ax.plot(t, lim.loss, color=col, label=f"{method} limit")
        ax.errorbar(mc["t"], mc["loss"].mean, yerr=mc["loss"].stderr, color=col, ls="none", marker="o",
                    label=f"{method} MC")
    ax.set_xlabel("t = steps / d_x"); ax.set_ylabel("population loss"); ax.set_yscale("log")
    ax.set_title(f"streaming limit vs MC, d_x = {d}, κ = 100", fontsize=10)
    ax.legend(fontsize=8); ax.grid(True, which="both", alpha=0.3)
    return rows


def run(fast: bool, outdir) -> list[dict]:
    from pathlib import Path
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(12, 4.3), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    rows = _population_rows()
    rows += _finite_batch_rows(runs=6 if fast else 16, steps=200, ax=ax1)
    rows += _single_index_rows(runs=4 if fast else 12)
    rows += _limit_rows(fast, runs=6 if fast else 12, ax=ax2)
    fig.tight_layout()
    fig.savefig(outdir / "layerwise.png")
    return rows
