"""Warnings of the ``hdlimits`` command: one line each, never a Python warning with a source line.

A computation run inside :func:`capture` has its warnings recorded instead of shown (e.g. the
:class:`~hdlimits.core.status.UnstableWarning` of a risk that grows without bound, docs/results.md
"Growth warning", or the off-grid-times warning of ``simulate``). On leaving the block each distinct
message is printed once on stderr as ``hdlimits: warning: <message>``, and the messages stay in the
list the block yields, so that the stdout summary can repeat them next to the status
(``warning:    <message>``).
"""
from __future__ import annotations

import contextlib
import sys
import warnings

from hdlimits.core.status import UnstableWarning

__all__ = ["PREFIX", "capture", "one_line", "merge"]

PREFIX = "hdlimits: warning: "


def one_line(text) -> str:
    """``text`` with all whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(str(text).split())


def merge(*groups) -> list:
    """The distinct one-line messages of ``groups`` (iterables of strings), in first-seen order."""
    out = []
    for group in groups:
        for msg in group or ():
            msg = one_line(msg)
            if msg and msg not in out:
                out.append(msg)
    return out


@contextlib.contextmanager
def capture(stream=None):
    """Record the warnings raised inside the block; yield the list of their one-line messages (filled
    when the block ends) and print each on ``stream`` (default stderr) as ``hdlimits: warning: …``.

    A growth warning is always recorded, even if an identical one was shown before in this process.
    """
    messages = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnstableWarning)
            yield messages
    finally:
        messages.extend(merge(str(w.message) for w in caught))
        out = stream or sys.stderr
        for msg in messages:
            print(PREFIX + msg, file=out)
