"""The fast clipping diagram (one reduction per tail, tables of μ_c, ν_c per point, integrator rtol 1e-5)
against high-accuracy runs of the public predict_risk (rtol 1e-10) at the lrs the diagram reports
(docs/clipping.md, Cost of the diagram)."""
import math

import numpy as np
import pytest

import hdlimits as hd
from hdlimits import phase
from hdlimits.phase.clip_vs_sgd import _NO_CLIP


def test_small_clipping_grid_matches_high_accuracy_predictions():
    prob = hd.Problem.power_law(d=30, alpha=1.0, beta=1.0, seed=0)
    thr, dfs = np.array([0.1, 1.0, 10.0]), np.array([2.5, np.inf])
    res = phase.clipping(prob, thresholds=thr, dfs=dfs, t=5.0, n_lrs=1, out=None, backend="serial",
                         progress=False).sweep
    worst = 0.0
    for i, df in enumerate(dfs):
        law = hd.noise.gaussian(0.5) if math.isinf(df) else hd.noise.student_t(df, 0.5)
        p = hd.Problem.from_spectrum(prob.eigenvalues, prob.initial_error, law, prob.basis)
        s = math.sqrt(p.trace)
        sgd = hd.predict_risk(p, hd.ClippedSGD(lr=float(res["sgd_best_lr"][i, 0]), clip=_NO_CLIP * s),
                              [0.0, 5.0], rtol=1e-10).excess_risk[-1]
        worst = max(worst, abs(res["sgd_best_excess_risk"][i, 0] / sgd - 1))
        for j, cc in enumerate(thr):
            x = hd.predict_risk(p, hd.ClippedSGD(lr=float(res["clipped_lr"][i, j]), clip=cc * s),
                                [0.0, 5.0], rtol=1e-10).excess_risk[-1]
            worst = max(worst, abs(res["best_clipped_excess_risk"][i, j] / x - 1))
    print("worst relative deviation", worst)
    assert worst < 3e-5          # measured 8.1e-6 (tables + rtol 1e-5 against quadrature at 1e-10)
    # c = 10 ≫ √(P + σ²) with Gaussian noise: no clipping, and m = 1 is SGD's own best lr: ratio 1
    assert res["ratio"][1, 2] == pytest.approx(1.0, abs=1e-6)
    assert (res["ratio"][0] < 1).all()   # df = 2.5: clipping helps at every threshold here


def test_five_lr_grid_matches_high_accuracy_predictions():
    """The default n_lrs = 5 (tables of μ_c, ν_c, direct integrator calls): each point's best clipped risk
    is the minimum of predict_risk(rtol = 1e-10) over its five candidate lrs m·γ_SGD/μ_c(P_ref), with
    μ_c from hdlimits.clipping.mu (docs/clipping.md, Cost of the diagram)."""
    prob = hd.Problem.power_law(d=30, alpha=1.0, beta=1.0, seed=0)
    thr, dfs, t = np.array([0.05, 0.7, 8.0]), np.array([2.3, 6.0]), 5.0
    res = phase.clipping(prob, thresholds=thr, dfs=dfs, t=t, n_lrs=5, out=None, backend="serial",
                         progress=False).sweep
    mult = np.geomspace(1 / 3, 3.0, 5)
    worst = 0.0
    for i, df in enumerate(dfs):
        law = hd.noise.student_t(df, 0.5)
        p = hd.Problem.from_spectrum(prob.eigenvalues, prob.initial_error, law, prob.basis)
        s = math.sqrt(p.trace)
        sgd_lr = float(res["sgd_best_lr"][i, 0])
        sgd = hd.predict_risk(p, hd.ClippedSGD(lr=sgd_lr, clip=_NO_CLIP * s), [0.0, t],
                              rtol=1e-10).excess_risk[-1]
        worst = max(worst, abs(res["sgd_best_excess_risk"][i, 0] / sgd - 1))
        P_ref = 2 * res["sgd_best_excess_risk"][i, 0]
        for j, cc in enumerate(thr):
            mu = hd.clipping.mu(P_ref, cc, law)
            assert res["mu"][i, j] == pytest.approx(mu, rel=1e-12)
            vals = [hd.predict_risk(p, hd.ClippedSGD(lr=m * sgd_lr / mu, clip=cc * s), [0.0, t],
                                    rtol=1e-10).excess_risk[-1] for m in mult]
            k = int(np.argmin(vals))
            assert res["clipped_lr"][i, j] == pytest.approx(mult[k] * sgd_lr / mu, rel=1e-12)
            worst = max(worst, abs(res["best_clipped_excess_risk"][i, j] / vals[k] - 1))
    print("worst relative deviation", worst)
    assert worst < 3e-5          # measured 3.4e-6 (tables + rtol 1e-5 against quadrature at 1e-10)
