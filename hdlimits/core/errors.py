"""Exceptions of hdlimits that are not plain bad input.

Bad input raises ``ValueError`` naming the parameter and its allowed range. A well-formed request for
which the library has no limiting equation raises :class:`LimitNotAvailable` — a ``ValueError``
subclass, so ``except ValueError`` still catches it — whose message says what is missing.
"""
from __future__ import annotations

__all__ = ["LimitNotAvailable"]


class LimitNotAvailable(ValueError):
    """No limiting equation exists (or is implemented) for this (problem, optimizer) pair or setting,
    e.g. clipped SGD with batch > 1. The simulator may still run it."""
