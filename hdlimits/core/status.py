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
from dataclasses import dataclass

__all__ = ["StatusCode", "Status"]


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
