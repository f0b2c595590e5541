"""The vocabulary of observables: what a result can carry, with the words and labels to show it.

A result holds named observables (arrays over time). ``compare``, ``plot``, ``sweeps`` and the CLI
accept any registered name; a model family registers its own (a GLM its overlaps, a sharpness model its
``loss`` and ``sharpness``) with :func:`register`, so none of them keeps a list of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Observable", "register", "get", "names", "check_name"]


@dataclass(frozen=True)
class Observable:
    """``name`` (the key in results), ``label`` (axis label), ``description`` (one line for --help)
    and ``positive`` (True when a log scale is meaningful)."""

    name: str
    label: str
    description: str
    positive: bool = True


_REGISTRY: dict[str, Observable] = {}


def register(obs: Observable) -> Observable:
    """Add an observable to the vocabulary (re-registering the same name replaces it)."""
    _REGISTRY[obs.name] = obs
    return obs


def get(name: str) -> Observable:
    return _REGISTRY[check_name(name)]


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def check_name(name, available=None) -> str:
    """``name`` if it is a registered observable (and among ``available`` when given), else a
    ValueError that lists the allowed names."""
    allowed = tuple(available) if available is not None else names()
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"quantity must be one of {', '.join(map(repr, allowed))}; got {name!r}")
    return name


register(Observable("risk", "risk  ½E[r²] = ½(eᵀKe + Eε²)",
                    "population risk, noise floor included"))
register(Observable("excess_risk", "excess risk  ½eᵀKe", "risk above the noise floor, ½eᵀKe"))
