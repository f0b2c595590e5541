"""The result of a sweep: labelled arrays over the grid, the status of every point, and their files.

JSON convention (the whole package, and :mod:`hdlimits.core.results`): strict JSON, with non-finite
numbers written as the strings ``"inf"``, ``"-inf"`` and ``"nan"`` — in values, axes, event times and
metadata alike (docs/results.md).
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdlimits.core import jsonfmt

from hdlimits.sweeps.status import UNKNOWN

__all__ = ["SweepResult", "json_safe"]


#: the package's JSON encoding (non-finite floats as "inf"/"-inf"/"nan"; hdlimits.core.jsonfmt)
json_safe = jsonfmt.encode


def _dumps(obj, **kw) -> str:
    return json.dumps(json_safe(obj), allow_nan=False, default=str, **kw)


@dataclass(eq=False)
class SweepResult:
    """A labelled sweep result.

    ``axes``: ``name -> 1-D array`` in grid order; ``values``: ``name -> array`` of shape
    ``shape + trailing`` where ``trailing`` is given by ``extra_axes``; ``metadata``: what was swept.
    Per grid point: ``status`` (the message, e.g. ``"ok"``, ``"diverged at t=0.0853"``,
    ``"error: …"``), ``status_code`` (``"ok"``, ``"diverged"``, ``"failed"``, ``"error"``, a
    metric-specific code such as ``"not_reached"``, or ``"unknown"`` for results saved before codes were
    recorded) and ``t_event`` (the time of the divergence or failure, NaN where there is none). Select
    with the codes, e.g. ``res.status_code == "diverged"``; never parse the messages.
    """

    axes: dict
    values: dict
    status: np.ndarray
    extra_axes: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    status_code: np.ndarray | None = None
    t_event: np.ndarray | None = None

    def __post_init__(self):
        shape = np.shape(self.status)
        if self.status_code is None:
            self.status_code = np.full(shape, UNKNOWN, dtype=object)
        if self.t_event is None:
            self.t_event = np.full(shape, np.nan)
        self.status_code = np.asarray(self.status_code, dtype=object)
        self.t_event = np.asarray(self.t_event, dtype=np.float64)
        if self.status_code.shape != shape or self.t_event.shape != shape:
            raise ValueError(f"status_code and t_event must have the shape of status {shape}, got "
                             f"{self.status_code.shape} and {self.t_event.shape}")

    @property
    def shape(self) -> tuple:
        return tuple(len(a) for a in self.axes.values())

    def __getitem__(self, name):
        return self.values[name]

    def points(self):
        """Iterate ``(index tuple, {axis: value})`` in C order."""
        for idx in np.ndindex(*self.shape):
            yield idx, {k: a[i] for (k, a), i in zip(self.axes.items(), idx)}

    # -------------------------------------------------------------------- persistence
    def save(self, path) -> dict:
        """Write ``path.npz`` (everything, reloadable with :meth:`load`), ``path.csv`` (one row per grid
        point and trailing index) and ``path.json`` (metadata, axes, values, statuses). Returns the
        paths."""
        base = Path(path)
        if base.suffix in (".npz", ".csv", ".json"):
            base = base.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"status": self.status.astype(str),
                  "status_code": self.status_code.astype(str),
                  "t_event": self.t_event,
                  "meta": np.array(_dumps(self.metadata)),
                  "axis_names": np.array(list(self.axes), dtype=str),
                  "value_names": np.array(list(self.values), dtype=str),
                  "extra_names": np.array(list(self.extra_axes), dtype=str)}
        for k, a in self.axes.items():
            arrays[f"axis:{k}"] = _storable(a)
        for k, a in self.extra_axes.items():
            arrays[f"extra:{k}"] = np.asarray(a)
        for k, a in self.values.items():
            arrays[f"value:{k}"] = np.asarray(a)
        paths = {"npz": str(base) + ".npz", "csv": str(base) + ".csv", "json": str(base) + ".json"}
        with open(paths["npz"], "wb") as fh:
            np.savez(fh, **arrays)
        self.to_csv(paths["csv"])
        self.to_json(paths["json"])
        return paths

    @classmethod
    def load(cls, path) -> "SweepResult":
        """Read a result written by :meth:`save` (give the ``.npz`` path or the common stem).
        Axes whose values were not numbers come back as strings; non-finite metadata numbers as the
        strings ``"inf"``/``"-inf"``/``"nan"``; files written before status codes were recorded get
        the code ``"unknown"`` and ``t_event`` NaN."""
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_suffix(".npz") if p.suffix in (".csv", ".json") else Path(str(p) + ".npz")
        with np.load(p, allow_pickle=False) as z:
            axes = {k: z[f"axis:{k}"] for k in z["axis_names"]}
            extra = {k: z[f"extra:{k}"] for k in z["extra_names"]}
            values = {k: z[f"value:{k}"] for k in z["value_names"]}
            codes = z["status_code"].astype(object) if "status_code" in z.files else None
            t_event = z["t_event"] if "t_event" in z.files else None
            return cls(axes, values, z["status"].astype(object), extra, json.loads(str(z["meta"])),
                       codes, t_event)

    def to_csv(self, path=None) -> str:
        """One row per grid point and trailing index: axes, trailing axes, values, ``status``,
        ``status_code``, ``t_event`` (empty where there is none)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(list(self.axes) + list(self.extra_axes) + list(self.values)
                   + ["status", "status_code", "t_event"])
        ex_shape = tuple(len(a) for a in self.extra_axes.values())
        for idx, pt in self.points():
            te = self.t_event[idx]
            tail = [self.status[idx], self.status_code[idx], "" if math.isnan(te) else _cell(te)]
            for j in np.ndindex(*ex_shape):
                row = [_cell(x) for x in pt.values()]
                row += [_cell(a[i]) for a, i in zip(self.extra_axes.values(), j)]
                row += [_cell(a[idx + j]) for a in self.values.values()]
                w.writerow(row + tail)
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path=None) -> str:
        data = {"metadata": self.metadata,
                "axes": {k: _jsonable(a) for k, a in self.axes.items()},
                "extra_axes": {k: _jsonable(a) for k, a in self.extra_axes.items()},
                "values": {k: _jsonable(a) for k, a in self.values.items()},
                "status": np.asarray(self.status, dtype=str).tolist(),
                "status_code": np.asarray(self.status_code, dtype=str).tolist(),
                "t_event": _jsonable(self.t_event),
                "note": "non-finite numbers are written as the strings 'inf', '-inf', 'nan'"}
        text = _dumps(data, indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __repr__(self):
        ax = ", ".join(f"{k}[{len(a)}]" for k, a in self.axes.items())
        return f"SweepResult({ax}; values: {', '.join(self.values)})"


def _storable(a):
    a = np.asarray(a)
    if a.dtype.kind in "biuf":
        return a
    return np.array([str(x) for x in a], dtype=str)


def _cell(x):
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    if isinstance(x, (np.integer,)):
        return str(int(x))
    return str(x)


def _jsonable(a):
    a = np.asarray(a)
    if a.dtype.kind in "biuf":
        return json_safe(a.tolist() if a.ndim else a.item())
    return np.vectorize(str, otypes=[object])(a).tolist()
