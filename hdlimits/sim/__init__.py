"""Streaming Monte Carlo simulation of the real finite-d algorithms."""
from .simulate import simulate

__all__ = ["simulate"]
