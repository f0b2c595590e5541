"""The status of one grid point as data: a code, the time of the event and a message.

A metric returns, with its values, either the :class:`hdlimits.core.status.Status` of the curve it read
(codes ``"ok"``, ``"diverged"``, ``"failed"``) or a :class:`PointStatus` with a code of its own (e.g.
:class:`~hdlimits.sweeps.metrics.SpeedUp`'s ``"not_reached"``). The sweep stores, per grid point, the
message (``SweepResult.status``), the code (``SweepResult.status_code``) and the event time
(``SweepResult.t_event``, NaN where there is none); a point whose evaluation raised gets the code
``"error"``. Nothing reads the message text back (docs/results.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hdlimits.core.status import Status

__all__ = ["PointStatus", "point_status", "OK", "ERROR", "UNKNOWN"]

OK = "ok"
ERROR = "error"
#: code of points whose code was not recorded (results saved before codes existed, or a custom metric
#: that returned a bare message string other than "ok")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class PointStatus:
    """``code`` (a short identifier: ``"ok"``, ``"diverged"``, ``"failed"``, ``"error"``, or a
    metric-specific code such as ``"not_reached"``), ``message`` (for people) and ``t_event`` (the time
    of the event, NaN when there is none)."""

    code: str
    message: str
    t_event: float = math.nan

    @property
    def ok(self) -> bool:
        return self.code == OK

    def __str__(self) -> str:
        return self.message


def point_status(st) -> PointStatus:
    """Normalise what a metric returned as its status: a core :class:`Status`, a :class:`PointStatus`,
    or (custom metrics) a message string — ``"ok"`` is code ok, any other string code ``"unknown"``."""
    if isinstance(st, PointStatus):
        return st
    if isinstance(st, Status):
        return PointStatus(st.code.value, st.message,
                           math.nan if st.t_event is None else float(st.t_event))
    text = str(st)
    return PointStatus(OK if text == OK else UNKNOWN, text)


def error_status(exc) -> PointStatus:
    """The status of a point whose evaluation raised ``exc``."""
    msg = f"error: {exc}" if isinstance(exc, ValueError) else f"error: {type(exc).__name__}: {exc}"
    return PointStatus(ERROR, msg)
