"""``hs.predict`` / ``hs.simulate`` for the linear model (registered with :mod:`.api`).

Conventions (docs/sharpness.md §1): ``lr`` is the step η itself (a constant; schedules are refused),
``batch`` is B ≤ D, time is the step count, ``loss`` is E L = ½E‖z‖² (sum loss), ``sharpness`` is
λ_max(Θ) (constant for this model) and ``noise_kernel_norm`` is 𝒦(η, B) (constant).
"""
from __future__ import annotations

import math
import warnings as _warnings

import numpy as np

from hdlimits.core import observables as obs
from hdlimits.core import validation as v
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.core.status import Status, UnstableWarning
from hdlimits.models.sharpness import api
from hdlimits.models.sharpness import linear_theory as lt
from hdlimits.models.sharpness.batch_noise import check_batch, check_sampling
from hdlimits.models.sharpness.linear import LinearModel
from hdlimits.models.sharpness.linear_sim import simulate_runs
from hdlimits.models.sharpness.results import SharpnessCurve, SharpnessSimulation

__all__ = ["predict_linear", "simulate_linear", "EXACT_MAX_D"]

#: method="exact" is the default up to this D (O(D³) per step); above it the mode equations
EXACT_MAX_D = 2000

for _o in (obs.Observable("loss_median", "median loss  L", "median over runs of L = ½‖z‖² (robust past the stochastic EOS)"),
           obs.Observable("log_loss", "E log L", "mean over runs of log L (robust past the stochastic EOS)")):
    obs.register(_o)


def _step_and_batch(lin, optimizer):
    """(η, B) from an optimizer: SGD(lr, batch) or a full-batch GD(lr) (B = D)."""
    from hdlimits.optimizers.sgd import SGD
    name = type(optimizer).__name__
    if type(optimizer) is SGD:
        batch = check_batch(optimizer.batch, lin.D)
    elif name == "GD":
        batch = lin.D
    else:
        raise LimitNotAvailable(f"the linear sharpness model has SGD(lr, batch) and GD(lr) only, got {name}")
    lr = optimizer.lr
    if callable(lr) or not isinstance(lr, (int, float, np.floating, np.integer)):
        raise ValueError("lr must be a constant step η > 0 for the sharpness family (time is the step "
                         f"count; schedules are not supported), got {lr!r}")
    return v.positive("lr", lr), batch


def _growth_warning(loss, lin, eta, B, sampling, status):
    if not status.success or loss.size < 3 or not np.all(np.isfinite(loss)):
        return []
    if not (loss[-1] > 1e3 * loss[0] and loss[-1] > loss[-2] > loss[-3]):
        return []
    msg = f"loss grows without bound (×{loss[-1] / loss[0]:.2g} by step {loss.size - 1})"
    try:
        crit = lt.critical_lr(lin, B, sampling)
        msg += f"; lr = {eta:g} exceeds the critical learning rate {float(crit):.6g} ({crit.binding})"
    except ValueError:
        pass
    _warnings.warn(msg, UnstableWarning, stacklevel=4)
    return [msg]


def predict_linear(model, optimizer, steps, method=None, sampling="without_replacement"):
    """Theory curve of SGD on a :class:`LinearModel`: ``method="exact"`` (the finite-D second-moment
    recursion; default for D ≤ 2000) or ``"modes"`` (the D → ∞ mode equations, O(D) per step; they
    err by 5–35 % near the edge at D ≈ 300 for non-MP spectra, docs/sharpness.md §5). Past the
    divergence threshold (1e10 × initial loss) the loss is ``inf`` and the status is diverged; growth
    inside the horizon is a warning."""
    eta, B = _step_and_batch(model, optimizer)
    sampling = check_sampling(sampling)
    steps = v.integer("steps", steps, low=1)
    if method is None:
        method = "exact" if model.D <= EXACT_MAX_D or model.localised else "modes"
    if method == "exact":
        loss, t_div = lt.exact_loss(model, eta, B, steps, sampling)
    elif method == "modes":
        loss, t_div = lt.mode_loss(model, eta, B, steps, sampling)
    else:
        raise ValueError(f"method must be 'exact' or 'modes', got {method!r}")
    status = Status.ok() if t_div is None else Status.diverged(float(t_div), f"loss > 1e10 × initial at step {t_div}")
    K = lt.noise_kernel_norm(model, eta, B, sampling)
    n = steps + 1
    observables = {"loss": loss, "sharpness": np.full(n, model.lambda_max),
                   "noise_kernel_norm": np.full(n, K)}
    warns = _growth_warning(loss, model, eta, B, sampling, status)
    info = {"lr": eta, "batch": B, "sampling": sampling, "D": model.D}
    return SharpnessCurve(np.arange(n, dtype=np.float64), observables=observables, status=status,
                          problem=model, optimizer=optimizer, method=method, info=info, warnings=warns)


def simulate_linear(model, optimizer, steps, runs=100, seed=None, sampling="without_replacement"):
    """Monte Carlo of SGD on a :class:`LinearModel` (``runs`` independent batch sequences; ``seed`` None,
    int or SeedSequence). Observables: ``loss`` (mean over runs, with ``loss_stderr``, ``loss_runs``),
    ``loss_median`` and ``log_loss`` (mean of log L, with its standard error) — read these past the
    stochastic edge, where the mean is dominated by rare runs — plus ``sharpness`` and
    ``noise_kernel_norm``. Diverged runs (loss > 1e10 × initial) hold ``inf``; the status is diverged
    at the first such step with "k of R runs"."""
    eta, B = _step_and_batch(model, optimizer)
    sampling = check_sampling(sampling)
    steps = v.integer("steps", steps, low=1)
    runs = v.integer("runs", runs, low=1)
    L, div, entropy = simulate_runs(model, eta, B, steps, runs, seed, sampling)
    n = steps + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = L.mean(axis=0)
        se = L.std(axis=0, ddof=1) / math.sqrt(runs) if runs > 1 else np.full(n, np.nan)
        se = np.where(np.isfinite(mean), se, np.inf)
        se[np.ptp(L, axis=0) == 0] = 0.0           # identical runs (step 0): no rounding-noise error bar
        logL = np.log(L)
        logmean = logL.mean(axis=0)
        logse = logL.std(axis=0, ddof=1) / math.sqrt(runs) if runs > 1 else np.full(n, np.nan)
        logse = np.where(np.isfinite(logmean), logse, np.inf)
        logse[np.ptp(L, axis=0) == 0] = 0.0
    median = np.median(L, axis=0)
    ndiv = int(np.sum(div >= 0))
    status = (Status.ok() if ndiv == 0 else
              Status.diverged(float(div[div >= 0].min()), f"{ndiv} of {runs} runs"))
    K = lt.noise_kernel_norm(model, eta, B, sampling)
    means = {"loss": mean, "loss_median": median, "log_loss": logmean,
             "sharpness": np.full(n, model.lambda_max), "noise_kernel_norm": np.full(n, K)}
    stderrs = {"loss": se, "log_loss": logse} if runs > 1 else {}
    info = {"lr": eta, "batch": B, "sampling": sampling, "D": model.D, "steps": steps}
    res = SharpnessSimulation(np.arange(n, dtype=np.float64), observables=means,
                              runs_data={"loss": L, "log_loss": logL}, stderrs=stderrs, runs=runs,
                              seed=entropy, status=status, problem=model, optimizer=optimizer,
                              info=info, diverged_runs=ndiv)
    return res


api.register(LinearModel, predict=predict_linear, simulate=simulate_linear)
