"""Limiting equations: the generic mode system, its integrators and closed-form diagnostics."""
from .modes import ModeSystem

__all__ = ["ModeSystem"]
