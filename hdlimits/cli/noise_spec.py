"""Strict reading of a ``--noise`` spec ``law:key=value,key=value`` for the command line.

:func:`hdlimits.core.noise.parse` is lenient (a repeated key silently keeps its last value); the command
refuses repeated and unknown keys and names the law, the key and the allowed values in its messages, e.g.
``--noise: gaussian: std must be a real number, got 'abc'``. Tuple values (``gaussian_mixture``) are
``;``-separated. Laws: docs/conventions.md.
"""
from __future__ import annotations

import inspect
import math

__all__ = ["laws", "parse_noise"]


def laws() -> dict:
    """Law name → factory, from :mod:`hdlimits.core.noise` (its public factories)."""
    from hdlimits.core import noise as noise_mod
    table = getattr(noise_mod, "LAWS", None)
    if isinstance(table, dict):
        return dict(table)
    return {name: getattr(noise_mod, name) for name in noise_mod.__all__
            if name not in ("NoiseLaw", "parse") and callable(getattr(noise_mod, name, None))}


def _real(text, law, key, option):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}: {law}: {key} must be a real number, got {text.strip()!r}") from None
    if math.isnan(value):
        raise ValueError(f"{option}: {law}: {key} must be a real number, got {text.strip()!r}")
    return value


def parse_noise(spec, option="--noise"):
    """The :class:`~hdlimits.core.noise.NoiseLaw` of ``spec``; ValueError naming ``option``, the law and
    the key on any defect (unknown law or key, repeated or missing key, a value that is not a number)."""
    table = laws()
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{option}: expected a spec like 'gaussian:std=0.3', got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip().replace("-", "_")
    if name not in table:
        raise ValueError(f"{option}: noise law must be one of {', '.join(sorted(table))}; got {name!r}")
    factory = table[name]
    params = inspect.signature(factory).parameters
    allowed = [p for p in params]
    required = [p for p, par in params.items() if par.default is inspect.Parameter.empty]
    tuple_valued = name == "gaussian_mixture"
    kwargs = {}
    for item in (s.strip() for s in rest.split(",")):
        if not item:
            continue
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"{option}: {name}: parameter {item!r} must be written key=value")
        if key not in params:
            allowed_text = ", ".join(allowed) if allowed else "none (write just the law name)"
            raise ValueError(f"{option}: {name}: unknown parameter {key!r}; allowed: {allowed_text}")
        if key in kwargs:
            raise ValueError(f"{option}: {name}: {key} is given twice")
        vals = [_real(x, name, key, option) for x in val.split(";")]
        if len(vals) > 1 and not tuple_valued:
            raise ValueError(f"{option}: {name}: {key} must be one real number, got {val.strip()!r}")
        kwargs[key] = vals if tuple_valued else vals[0]
    missing = [p for p in required if p not in kwargs]
    if missing:
        raise ValueError(f"{option}: {name}: missing {', '.join(missing)} (e.g. "
                         f"{name}:{','.join(f'{p}=1' for p in missing)})")
    try:
        return factory(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{option}: {name}: {exc}") from None
