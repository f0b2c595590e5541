"""Input checks shared by the public constructors.

Every failed check raises ``ValueError`` naming the parameter and the allowed range, so that a user
reading the message knows what to change.
"""
from __future__ import annotations

import math
import os

import numpy as np


def _bound(x) -> str:
    return f"{float(x):g}"


def range_text(low=None, high=None, low_open=False, high_open=False) -> str:
    """The interval ``[low, high]`` as text, open at an infinite end (inf itself is never accepted):
    ``range_text(0, low_open=True)`` is ``"(0, inf)"``."""
    lo = "(-inf" if low is None else ("(" if low_open else "[") + _bound(low)
    hi = "inf)" if high is None else _bound(high) + (")" if high_open else "]")
    return f"{lo}, {hi}"


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a finite float, checking ``low ≤ value ≤ high`` (or strict when open).

    Text is refused (``"1.0"``, ``b"1"``): a number must be given as a number, and ``float()`` would
    otherwise read ``"nan"``, ``"1e1"`` or ``" 2 "`` silently."""
    rng = range_text(low, high, low_open, high_open)
    if isinstance(value, (str, bytes, bytearray, np.str_, np.bytes_)):
        raise ValueError(f"{name} must be a real number in {rng}, got {_shown(value)} (text, not a number)")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number in {rng}, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number in {rng}, got {_shown(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, in {rng}, got {x!r}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must lie in {rng}, got {x!r}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must lie in {rng}, got {x!r}")
    return x


def positive(name: str, value) -> float:
    return real(name, value, low=0.0, low_open=True)


def nonnegative(name: str, value) -> float:
    return real(name, value, low=0.0)


def integer(name: str, value, *, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer ≥ {low}, got {_shown(value)}")
    v = int(value)
    if v < low or (high is not None and v > high):
        hi = "" if high is None else f" and ≤ {high}"
        raise ValueError(f"{name} must be an integer ≥ {low}{hi}, got {v}")
    return v


def _shown(value) -> str:
    """A value for an error message: plain numbers (1.5, not np.float64(1.5)), short reprs otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


def seed(name: str, value) -> np.random.SeedSequence:
    """A ``numpy.random.SeedSequence`` from a user seed.

    Accepted: ``None`` (fresh OS entropy; its ``.entropy`` int is what a result records, so the run
    can be repeated), a non-negative integer, or a ``SeedSequence`` (used as is). A
    ``numpy.random.Generator`` is refused: its state cannot be recorded as a seed, and drawing a seed
    from it would change it behind the caller's back — pass an int or a SeedSequence instead.
    """
    if value is None:
        return np.random.SeedSequence()
    if isinstance(value, np.random.SeedSequence):
        return value
    if isinstance(value, (np.random.Generator, np.random.BitGenerator, np.random.RandomState)):
        raise ValueError(f"{name} must be None, an integer ≥ 0 or a numpy.random.SeedSequence, got a "
                         f"{type(value).__name__}; pass an int (or a SeedSequence) so the result "
                         "can record and repeat it")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        shown = repr(float(value)) if isinstance(value, (float, np.floating)) else repr(value)
        raise ValueError(f"{name} must be None, an integer ≥ 0 or a numpy.random.SeedSequence, "
                         f"got {shown}")
    return np.random.SeedSequence(int(value))


def vector(name: str, value, *, size: int | None = None, nonnegative: bool = False,
           positive: bool = False, size_name: str = "the dimension d") -> np.ndarray:
    """A finite 1-D float64 array (copied), optionally of a given size and sign; ``size_name`` says
    in the error message what ``size`` is (e.g. ``"the number of components"``)."""
    try:
        a = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of real numbers") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    if size is not None and a.size != size:
        raise ValueError(f"{name} must have length {size} ({size_name}), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must be > 0 entrywise (range (0, inf)), min is {float(a.min()):g}")
    if nonnegative and np.any(a < 0):
        raise ValueError(f"{name} must be ≥ 0 entrywise (range [0, inf)), min is {float(a.min()):g}")
    a.setflags(write=False)
    return a


def symmetric_psd(name: str, value, *, size: int | None = None, definite: bool = False,
                  rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a symmetric positive (semi-)definite matrix; return ``(M, eigenvalues, eigenvectors)``."""
    try:
        m = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a square matrix of real numbers") from None
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {m.shape}")
    if size is not None and m.shape[0] != size:
        raise ValueError(f"{name} must be {size}×{size} (the dimension d), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must contain only finite values")
    scale = max(np.abs(m).max(), 1e-300)
    if np.abs(m - m.T).max() > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric (max |M - Mᵀ| = {np.abs(m - m.T).max():.3g})")
    m = 0.5 * (m + m.T)
    lam, vec = np.linalg.eigh(m)
    tol = rtol * max(abs(lam).max(), 1e-300) * m.shape[0]
    if lam.min() < -tol and not definite:
        raise ValueError(f"{name} must be positive semi-definite (eigenvalues in [0, inf)), "
                         f"smallest eigenvalue is {lam.min():.3g}")
    if definite and lam.min() <= tol:
        raise ValueError(f"{name} must be positive definite (eigenvalues in (0, inf)), "
                         f"smallest eigenvalue is {lam.min():.3g}")
    lam = np.clip(lam, 0.0, None)
    return m, lam, vec


#: a problem may use at most this fraction of the machine's physical memory
MEMORY_FRACTION = 0.8


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def memory(name: str, value, n_floats: float, what: str) -> None:
    """ValueError naming ``name`` when ``n_floats`` float64 numbers (the arrays ``what`` needs) would not
    fit in :data:`MEMORY_FRACTION` of physical memory — refused before anything is allocated, since
    with memory overcommit a too-large allocation succeeds and the process is killed later."""
    total = physical_memory()
    need = 8.0 * float(n_floats)
    if total is not None and need > MEMORY_FRACTION * total:
        raise ValueError(f"{name} = {value} is too large: {what} needs about {need / 2**30:.3g} GiB, this "
                         f"machine has {total / 2**30:.3g} GiB")
