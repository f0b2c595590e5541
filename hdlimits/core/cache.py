"""The on-disk cache of generated and compiled code (derived coefficients, specialised integrators).

Its root is ``$HDLIMITS_CACHE_DIR`` or ``~/.cache/hdlimits``; each user of the cache takes a
sub-directory of its own.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "cache_dir"]


def cache_root() -> Path:
    """``$HDLIMITS_CACHE_DIR`` or ``~/.cache/hdlimits`` (not created)."""
    return Path(os.environ.get("HDLIMITS_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                     "hdlimits"))


def cache_dir(sub: str) -> Path:
    """The sub-directory ``sub`` of :func:`cache_root`, created on first use."""
    path = cache_root() / sub
    path.mkdir(parents=True, exist_ok=True)
    return path
