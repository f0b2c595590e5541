"""Library errors named by the option they came from.

The library's checks (:mod:`hdlimits.core.validation`) raise ``ValueError("<parameter> must …")`` with
the *parameter* name (``seed``, ``lr``, ``rtol``, ``initial_size``, …). When the command passed an
option value to that parameter, :func:`naming_options` prefixes the message with the option, so the
user reads ``hdlimits: error: --seed: seed must be …``. The parameter is mapped to the option
``--<parameter with - for _>`` when the command has that option, unless ``overrides`` names another
one (the problem's ``seed`` is ``--problem-seed``; Adam's ``eps`` is ``--adam-eps``); messages that
already name an option (start with ``-``) are left alone.
"""
from __future__ import annotations

import contextlib
import re

__all__ = ["option_for", "naming_options"]

_LEADING_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*) must\b")


def option_for(message, args, overrides=None):
    """The option (``"--seed"``) whose value the library parameter named at the start of ``message``
    received, or None when the message names no parameter of the command."""
    m = _LEADING_NAME.match(str(message))
    if m is None:
        return None
    name = m.group(1)
    if overrides and name in overrides:
        return overrides[name]
    if args is not None and name in vars(args) and name not in ("func", "command"):
        return "--" + name.replace("_", "-")
    return None


@contextlib.contextmanager
def naming_options(args, overrides=None):
    """Re-raise a ``ValueError("<parameter> must …")`` of the block as ``"--option: <message>"``."""
    try:
        yield
    except ValueError as exc:
        option = option_for(exc, args, overrides)
        if option is None:
            raise
        raise ValueError(f"{option}: {exc}") from exc
