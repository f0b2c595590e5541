"""Fast random numbers inside numba kernels: xoshiro256** and a 256-layer ziggurat for N(0, 1).

numba's own ``np.random.Generator`` support calls the bit generator through a function pointer and
costs ~10 ns per normal here; the simulator draws ``d`` normals per step, so that alone would exceed the
cost of the arithmetic. This generator is inlined into the kernels (~2 ns per normal).

State: a ``uint64[4]`` array seeded from a ``numpy.random.SeedSequence`` (so the same seed gives the same
stream on every machine). Generator: xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom
number generators", ACM TOMS 2021). Normals: the ziggurat method (Marsaglia & Tsang, "The ziggurat
method for generating random variables", J. Stat. Softw. 2000) with 256 layers of equal area; the
tables are built at import by solving for the base-layer edge ``r`` so that the layers close.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc

N_LAYERS = 256


def _build_tables():
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731

    def layers(r):
        v = r * f(r) + math.sqrt(math.pi / 2) * erfc(r / math.sqrt(2))
        x = [v / f(r), r]
        for _ in range(2, N_LAYERS):
            y = f(x[-1]) + v / x[-1]
            if y >= 1.0:
                return None, y
            x.append(math.sqrt(-2.0 * math.log(y)))
        return x, f(x[-1]) + v / x[-1]

    def closure(r):
        x, y = layers(r)
        return (2.0 if x is None else y) - 1.0

    r = brentq(closure, 3.0, 4.0, xtol=1e-15)
    x, _ = layers(r)
    x = np.array(x + [0.0])                    # x[0] pseudo-width of the base, x[1] = r, x[256] = 0
    fx = np.exp(-0.5 * x * x)
    fx[0] = 0.0                                # base layer spans y in [0, f(r)] (its test never runs)
    return r, x, fx


ZIG_R, ZIG_X, ZIG_F = _build_tables()
_R = ZIG_R
_TWO_M52 = 2.0 ** -52
_TWO_M53 = 2.0 ** -53


def seed_state(seed_seq: np.random.SeedSequence) -> np.ndarray:
    """A xoshiro256** state (uint64[4], not all zero) from a SeedSequence."""
    st = seed_seq.generate_state(4, np.uint64)
    if not st.any():
        st[0] = np.uint64(1)
    return st


@nb.njit(cache=True, nogil=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True, nogil=True, inline="always")
def next_u64(s):
    """One xoshiro256** output; advances the state ``s`` in place."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@nb.njit(cache=True, nogil=True, inline="always")
def uniform(s):
    """U(0, 1) with 53 random bits, never exactly 0."""
    return (np.float64(np.int64(next_u64(s) >> np.uint64(11))) + 0.5) * _TWO_M53


@nb.njit(cache=True, nogil=True, inline="always")
def _layer_draw(s):
    """One 64-bit draw split into a layer index (8 bits), a sign (1 bit) and a point in the layer."""
    u = next_u64(s)
    i = np.int64(u & np.uint64(0xFF))
    sign = np.float64(np.int64((u >> np.uint64(7)) & np.uint64(2))) - 1.0
    x = np.float64(np.int64(u >> np.uint64(12))) * _TWO_M52 * ZIG_X[i]
    return i, sign, x


@nb.njit(cache=True, nogil=True)
def _normal_slow(s, i, x, sign):
    # outside the fast path: tail (i = 0) or wedge test; retries draw a fresh layer
    while True:
        if i == 0:
            while True:
                xt = -math.log(uniform(s)) / _R
                yt = -math.log(uniform(s))
                if 2.0 * yt > xt * xt:
                    return sign * (_R + xt)
        y = ZIG_F[i] + uniform(s) * (ZIG_F[i + 1] - ZIG_F[i])
        if y < math.exp(-0.5 * x * x):
            return sign * x
        i, sign, x = _layer_draw(s)
        if x < ZIG_X[i + 1]:
            return sign * x


@nb.njit(cache=True, nogil=True, inline="always")
def normal(s):
    """A standard normal draw (ziggurat; ~99% of draws take the fast path)."""
    i, sign, x = _layer_draw(s)
    if x < ZIG_X[i + 1]:
        return sign * x
    return _normal_slow(s, i, x, sign)


@nb.njit(cache=True, nogil=True)
def fill_normal(s, out):
    """Fill a contiguous array with standard normals."""
    flat = out.reshape(-1)
    for k in range(flat.size):
        flat[k] = normal(s)


@nb.njit(cache=True, nogil=True)
def fill_rademacher(s, out):
    """Fill a contiguous array with ±1 (64 signs per generator call)."""
    flat = out.reshape(-1)
    n = flat.size
    k = 0
    while k < n:
        u = next_u64(s)
        for b in range(min(64, n - k)):
            flat[k] = np.float64(np.int64((u >> np.uint64(b)) & np.uint64(1))) * 2.0 - 1.0
            k += 1
