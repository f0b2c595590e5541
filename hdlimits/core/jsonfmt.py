"""The JSON convention of every file hdlimits writes (docs/results.md, "JSON format").

JSON has no infinity and no NaN, and the package's curves hold ``inf`` after a divergence. So every
float that is not finite is written as a **string**: ``"inf"``, ``"-inf"`` or ``"nan"``; finite floats
are written with full precision (``repr``), numpy scalars and arrays become numbers and (nested) lists.
:func:`dumps` writes that convention, :func:`decode_floats` / :func:`float_array` read it back.
"""
from __future__ import annotations

import json
import math

import numpy as np

__all__ = ["NONFINITE", "encode", "dumps", "decode_float", "decode_floats", "float_array", "write"]

#: how non-finite floats are spelled in JSON
NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _float(x: float):
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "nan"
    return "inf" if x > 0 else "-inf"


def encode(obj):
    """``obj`` made JSON-safe: dicts/lists/tuples recursively, numpy arrays as nested lists, numpy
    scalars as Python numbers, non-finite floats as ``"inf"``/``"-inf"``/``"nan"``, objects with a
    ``to_dict()`` by that dict, anything else unknown by ``str()``."""
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" or obj.dtype.kind in "iub":
            return encode(obj.tolist())
        return [encode(v) for v in obj.tolist()]
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _float(float(obj))
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_dict"):
        return encode(obj.to_dict())
    return str(obj)


def dumps(obj, indent: int | None = 1) -> str:
    """Strict JSON text of ``obj`` under the convention above (never ``NaN``/``Infinity`` tokens)."""
    return json.dumps(encode(obj), indent=indent, allow_nan=False)


def write(text: str, path) -> str:
    """Write ``text`` to ``path`` when it is not None; return the text."""
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text)
    return text


def decode_float(x):
    """A float from a JSON value: numbers as they are, ``"inf"``/``"-inf"``/``"nan"`` (and ``None``,
    written by hdlimits before this convention, as nan)."""
    if x is None:
        return math.nan
    if isinstance(x, str):
        try:
            return NONFINITE[x]
        except KeyError:
            raise ValueError(f"not a number in hdlimits JSON: {x!r} (allowed strings: "
                             f"{', '.join(map(repr, NONFINITE))})") from None
    return float(x)


def decode_floats(obj):
    """Nested lists of JSON numbers / non-finite strings → the same nesting of floats."""
    if isinstance(obj, list):
        return [decode_floats(v) for v in obj]
    return decode_float(obj)


def float_array(obj) -> np.ndarray:
    """A float64 array from nested JSON lists written by :func:`dumps`."""
    return np.array(decode_floats(obj), dtype=np.float64)
