"""The status of a result: a code, the time of the event, and a message — data, not text to parse.

Every result of :func:`hdlimits.predict_risk` and :func:`hdlimits.simulate` (and of every model
family) carries a :class:`Status`. Its ``code`` says what happened, ``t_event`` when (in the result's
own time unit: ``t = steps/d`` for streaming models, the step count for finite-dataset models), and
``message`` says it in words. A diverged curve holds ``inf`` from ``t_event`` on — never NaN
(docs/conventions.md §11).
"""
from __future__ import annotations

import enum
import math
import warnings as _warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["StatusCode", "Status", "UnstableWarning", "check_growth", "GROWTH_FACTOR"]

#: a run "grows without bound" when its final excess risk exceeds this factor times
#: max(initial excess risk, noise floor) while still increasing (see :func:`check_growth`)
GROWTH_FACTOR = 1e3


class UnstableWarning(RuntimeWarning):
    """A curve that is finite everywhere (status ``ok``) but grows without bound inside the horizon —
    e.g. SGD above its critical learning rate, stopped before the divergence threshold. The result's
    ``warnings`` list holds the same message (docs/results.md, "Growth warning")."""


class StatusCode(str, enum.Enum):
    """What happened to a run or to the limiting equations.

    ``OK`` — the whole horizon was computed. ``DIVERGED`` — the error grew past the divergence
    threshold (1e10 × its initial scale) at ``t_event``. ``FAILED`` — a numerical failure (e.g. the
    integrator's step size underflowed) at ``t_event``; values after it are not available.
    """

    OK = "ok"
    DIVERGED = "diverged"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Status:
    """``code`` (:class:`StatusCode`), ``t_event`` (float time of the event; None for ``OK``),
    ``message`` (a sentence for people) and ``detail`` (extra words after the standard message, e.g.
    "3 of 8 runs").

    ``status == "ok"`` and ``status == StatusCode.DIVERGED`` compare the code, so ``if status == "ok"``
    reads naturally; ``str(status)`` is the message.
    """

    code: StatusCode = StatusCode.OK
    t_event: float | None = None
    detail: str = ""

    def __post_init__(self):
        object.__setattr__(self, "code", StatusCode(self.code))
        if self.code is StatusCode.OK:
            if self.t_event is not None:
                raise ValueError("an ok status has no event time (t_event must be None)")
        else:
            if self.t_event is None or not math.isfinite(float(self.t_event)):
                raise ValueError(f"a {self.code.value} status needs a finite event time t_event")
            object.__setattr__(self, "t_event", float(self.t_event))

    # --- constructors -----------------------------------------------------------------------
    @classmethod
    def ok(cls) -> "Status":
        return cls(StatusCode.OK)

    @classmethod
    def diverged(cls, t_event: float, detail: str = "") -> "Status":
        return cls(StatusCode.DIVERGED, t_event, detail)

    @classmethod
    def failed(cls, t_event: float, detail: str = "") -> "Status":
        return cls(StatusCode.FAILED, t_event, detail)

    # --- reading ---------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        """True when the whole horizon was computed (code ``OK``)."""
        return self.code is StatusCode.OK

    @property
    def message(self) -> str:
        if self.code is StatusCode.OK:
            base = "ok"
        else:
            base = f"{self.code.value} at t={self.t_event:.6g}"
        return f"{base} ({self.detail})" if self.detail else base

    def __str__(self) -> str:
        return self.message

    def __eq__(self, other):
        if isinstance(other, Status):
            return (self.code, self.t_event, self.detail) == (other.code, other.t_event, other.detail)
        if isinstance(other, (StatusCode, str)):
            try:
                return self.code is StatusCode(other)
            except ValueError:
                return False
        return NotImplemented

    def __hash__(self):
        return hash((self.code, self.t_event, self.detail))

    def to_dict(self) -> dict:
        return {"code": self.code.value, "t_event": self.t_event, "success": self.success,
                "message": self.message, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict) -> "Status":
        return cls(StatusCode(data["code"]), data.get("t_event"), data.get("detail", ""))


def _times(x: float) -> str:
    m, e = f"{x:.1e}".split("e")
    return f"{float(m):g}e{int(e)}"


def check_growth(t, excess, noise_floor, status, problem=None, optimizer=None,
                 stacklevel: int = 3) -> list:
    """Flag a curve that grows without bound inside its horizon; return the messages (a list, empty
    when nothing is wrong) and emit each as an :class:`UnstableWarning`.

    The rule (docs/results.md, "Growth warning"): the status is ``ok``, the final excess risk exceeds
    ``GROWTH_FACTOR = 1e3`` × max(initial excess risk, noise floor ``½Eε²``), it is within a factor 2 of
    the curve's maximum, and on a log scale the last third of the horizon still holds at least a quarter
    of the total rise (exponential growth holds a third; a curve that rose to a high plateau, e.g.
    signSGD at a large learning rate, holds almost none). Read on a log scale, the rule is not fooled by
    the run-to-run noise of a simulation mean. With fewer than three times nothing is flagged. For least
    squares with an SGD-type optimizer the message names the finite-d critical learning rate
    (:func:`hdlimits.models.least_squares.diagnostics.critical_lr`); a status that already says
    ``diverged`` or ``failed`` gets no warning.
    """
    if not isinstance(status, Status) or not status.success:
        return []
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    x = np.asarray(excess, dtype=np.float64)
    if x.shape != t.shape or t.size < 3 or not np.all(np.isfinite(x)):
        return []
    floor = float(noise_floor) if noise_floor is not None and math.isfinite(noise_floor) else 0.0
    scale = max(float(x[0]), floor)
    if not scale > 0 or not x[-1] > GROWTH_FACTOR * scale or x[-1] < 0.5 * float(np.max(x)):
        return []
    logx = np.log(np.maximum(x, 1e-300 * scale) / scale)
    k = int(np.searchsorted(t, t[0] + 2.0 * (t[-1] - t[0]) / 3.0))
    k = min(k, t.size - 2)
    if not logx[-1] - logx[k] >= 0.25 * (logx[-1] - logx[0]):
        return []
    msg = f"risk grows without bound (×{_times(x[-1] / scale)} by t={t[-1]:.4g})"
    crit = None
    if problem is not None and optimizer is not None:
        try:
            from hdlimits.models.least_squares.diagnostics import critical_lr
            crit = float(critical_lr(problem, optimizer))
        except Exception:  # not an SGD-type optimizer, or not least squares: no closed form
            crit = None
    if crit is not None and math.isfinite(crit):
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > crit:
            msg += f"; lr = {float(lr):.4g} exceeds the finite-d critical learning rate {crit:.4g}"
        else:
            msg += f"; the finite-d critical learning rate is {crit:.4g}"
    _warnings.warn(msg, UnstableWarning, stacklevel=stacklevel)
    return [msg]
