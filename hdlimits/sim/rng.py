"""Fast random numbers inside numba kernels: xoshiro256** on vector lanes and a 256-layer ziggurat.

numba's own ``np.random.Generator`` support calls the bit generator through a function pointer and
costs ~10 ns per normal; the simulator draws ``d`` normals per step, so that alone would exceed the cost
of the arithmetic (two fused multiply-adds per coordinate-step). This module draws them in blocks on
``LANES`` independent generators so that the compiler vectorises the generator and the ziggurat's fast
path (measured by ``scripts/bench.py``: ~5× fewer ns per normal than one at a time on AVX-512).

State (``seed_state``): a ``uint64[4 + 4·LANES]`` array seeded from a ``numpy.random.SeedSequence`` (so
the same seed gives the same stream on every machine). ``state[0:4]`` is a scalar xoshiro256** stream
(``next_u64``, ``uniform``, ``normal``; also the ziggurat's rare slow path); ``state[4:]`` holds the
``LANES`` lane generators as four rows (s0, s1, s2, s3) of ``LANES`` words.

Generator: xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
2021). Normals: the ziggurat method (Marsaglia & Tsang, "The ziggurat method for generating random
variables", J. Stat. Softw. 2000) with 256 layers of equal area; the tables are built at import by
solving for the base-layer edge ``r`` so that the layers close.

Block draws (``normal_block``): one round advances every lane once and gives ``LANES`` candidates; the
fast path (x inside the layer's rectangle, ~98.3 % of draws) is branch-free and vectorised. Candidates
that miss it are flagged, and a second pass completes them in index order with the exact wedge/tail
test of the scalar ziggurat, whose retries draw from the scalar stream. A block of ``n`` values uses
``ceil(n/LANES)`` rounds, so each sample (row) starts on a fresh round and the stream of a run does not
depend on how its samples are grouped into kernel calls.
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
#: independent generator lanes drawn together (a multiple of 8 = the flag word size)
LANES = 16
STATE_SIZE = 4 + 4 * LANES
_PAD = 8 * max(1, LANES // 8)


def seed_state(seed_seq: np.random.SeedSequence) -> np.ndarray:
    """A generator state (uint64[STATE_SIZE]: the scalar stream, then the lanes) from a SeedSequence.

    No generator (the scalar one or any lane) is left all zero.
    """
    st = seed_seq.generate_state(STATE_SIZE, np.uint64)
    if not st[:4].any():
        st[0] = np.uint64(1)
    lanes = st[4:].reshape(4, LANES)
    for l in range(LANES):
        if not lanes[:, l].any():
            lanes[0, l] = np.uint64(1)
    return st


def padded(n: int) -> int:
    """The length of a block buffer for ``n`` values: a multiple of ``LANES`` and of 8."""
    return -(-int(n) // _PAD) * _PAD


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


@nb.njit(cache=True, nogil=True, inline="always")
def _lane_next(s, l):
    """One xoshiro256** output of lane ``l``; advances that lane in place (written out for vectorising)."""
    s0 = s[4 + l]
    s1 = s[4 + LANES + l]
    s2 = s[4 + 2 * LANES + l]
    s3 = s[4 + 3 * LANES + l]
    x5 = s1 * np.uint64(5)
    u = ((x5 << np.uint64(7)) | (x5 >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    s[4 + l] = s0
    s[4 + LANES + l] = s1
    s[4 + 2 * LANES + l] = s2
    s[4 + 3 * LANES + l] = s3
    return u


@nb.njit(cache=True, nogil=True, inline="always")
def padded_nb(n):
    return -(-n // _PAD) * _PAD


@nb.njit(cache=True, nogil=True)
def workspace(n):
    """Scratch for the block draws of up to ``n`` values: candidate words (``padded(n)``), then the
    reject flags (one byte per candidate)."""
    m = padded_nb(n)
    return np.zeros(m + m // 8, dtype=np.uint64)


@nb.njit(cache=True, nogil=True, inline="always")
def _ws_parts(ws):
    """(candidate words, flags as bytes, flags as words)."""
    m = ws.size * 8 // 9
    words = ws[m:]
    return ws[:m], words.view(np.uint8), words


@nb.njit(cache=True, nogil=True, inline="always")
def normal_block(s, z, n, ws):
    """``z[:n]`` ← standard normals (``z`` must hold ``padded(n)`` values; the pad is overwritten).

    ``ws`` is a :func:`workspace` for at least ``n`` values. Uses ``ceil(n/LANES)`` lane rounds and, for
    the ~1.7 % of candidates off the fast path, the scalar stream ``s[0:4]``.
    """
    rounds = -(-n // LANES)
    m = rounds * LANES
    ws, flags, words = _ws_parts(ws)
    for rd in range(rounds):
        base = rd * LANES
        for l in range(LANES):
            u = _lane_next(s, l)
            i, sign, x = _candidate(u)
            z[base + l] = sign * x
            ws[base + l] = u
            flags[base + l] = np.uint8(x >= ZIG_X[i + 1])
    for w in range(-(-m // 8)):
        if words[w] != np.uint64(0):
            for k in range(8 * w, min(8 * w + 8, m)):
                if flags[k] != 0:
                    i, sign, x = _candidate(ws[k])
                    z[k] = _normal_slow(s, i, x, sign)
                    flags[k] = 0


@nb.njit(cache=True, nogil=True, inline="always")
def _candidate(u):
    """The ziggurat fields of one word: layer ``i`` (8 bits), sign (1 bit), point ``x`` in the layer."""
    i = np.int64(u & np.uint64(0xFF))
    sign = np.float64(np.int64((u >> np.uint64(7)) & np.uint64(2))) - 1.0
    x = np.float64(np.int64(u >> np.uint64(12))) * _TWO_M52 * ZIG_X[i]
    return i, sign, x


@nb.njit(cache=True, nogil=True, inline="always")
def _scale_dot(scale, e, z, acc):
    """``z[j] ← scale[j]·z[j]`` for ``j < n = e.size``; returns ``(Σ z_j e_j, Σ z_j²)``.

    The sums are accumulated per lane (``acc``: (2, LANES)) and then added in lane order — a fixed order,
    so the result does not depend on the machine's vector width, and the loop still vectorises.
    """
    n = e.size
    full = n // LANES
    for l in range(LANES):
        acc[0, l] = 0.0
        acc[1, l] = 0.0
    for rd in range(full):
        base = rd * LANES
        for l in range(LANES):
            j = base + l
            zj = scale[j] * z[j]
            z[j] = zj
            acc[0, l] += zj * e[j]
            acc[1, l] += zj * zj
    r = 0.0
    xx = 0.0
    for l in range(LANES):
        r += acc[0, l]
        xx += acc[1, l]
    for j in range(full * LANES, n):
        zj = scale[j] * z[j]
        z[j] = zj
        r += zj * e[j]
        xx += zj * zj
    return r, xx


@nb.njit(cache=True, nogil=True, inline="always")
def scaled_normal_dot(s, scale, e, z, ws, acc):
    """``z[j] ← scale[j]·ξ_j`` (ξ standard normal, :func:`normal_block`) for ``j < n = e.size``; returns
    ``(Σ z_j e_j, Σ z_j²)``. ``z`` needs ``padded(n)`` values, ``ws`` a :func:`workspace` for ``n``,
    ``acc`` a float64 (2, LANES) scratch (:func:`lane_sums`)."""
    normal_block(s, z, e.size, ws)
    return _scale_dot(scale, e, z, acc)


@nb.njit(cache=True, nogil=True, inline="always")
def scaled_rademacher_dot(s, scale, e, z, ws, acc):
    """As :func:`scaled_normal_dot` with ξ_j = ±1 (:func:`rademacher_block`)."""
    rademacher_block(s, z, e.size, ws)
    return _scale_dot(scale, e, z, acc)


@nb.njit(cache=True, nogil=True)
def lane_sums():
    """The (2, LANES) float64 scratch of the per-lane partial sums."""
    return np.zeros((2, LANES))


@nb.njit(cache=True, nogil=True, inline="always")
def rademacher_block(s, z, n, ws):
    """``z[:n]`` ← ±1: 64 signs per word, the words drawn in lane rounds (``ceil(n/(64·LANES))``)."""
    nw = -(-n // 64)
    rounds = -(-nw // LANES)
    for rd in range(rounds):
        for l in range(LANES):
            ws[rd * LANES + l] = _lane_next(s, l)
    for w in range(nw):
        u = ws[w]
        base = 64 * w
        for b in range(min(64, n - base)):
            z[base + b] = np.float64(np.int64((u >> np.uint64(b)) & np.uint64(1))) * 2.0 - 1.0


@nb.njit(cache=True, nogil=True)
def fill_normal(s, out):
    """Fill an array with standard normals, one :func:`normal_block` per row (last axis)."""
    flat = out.reshape(-1)
    n = out.shape[-1] if out.ndim > 0 else 1
    rows = flat.size // n if n > 0 else 0
    ws = workspace(n)
    z = np.empty(padded_nb(n))
    for r in range(rows):
        normal_block(s, z, n, ws)
        flat[r * n:(r + 1) * n] = z[:n]


@nb.njit(cache=True, nogil=True)
def fill_rademacher(s, out):
    """Fill an array with ±1, one :func:`rademacher_block` per row (last axis)."""
    flat = out.reshape(-1)
    n = out.shape[-1] if out.ndim > 0 else 1
    rows = flat.size // n if n > 0 else 0
    ws = workspace(max(n, 64 * LANES))
    for r in range(rows):
        rademacher_block(s, flat[r * n:(r + 1) * n], n, ws)
