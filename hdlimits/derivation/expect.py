"""Expectations over the label-noise law, in closed form when sympy finds one, by quadrature otherwise.

Two entry points share one machinery:

* :func:`expect_noise` — ``E_ε[F(P, ε)]`` for a sympy integrand ``F`` (used e.g. by signSGD's
  ``φ(P) = (2/π) E_ε[exp(−ε²/(2P))]/√P``);
* :func:`expect_residual` — ``E[F(r)]`` with ``r = s − ε``, ``s ~ N(0, P)`` independent of ε, for a
  piecewise-polynomial ``F`` (the coefficients of :mod:`hdlimits.derivation.engine`); optionally the Stein
  form ``E[h'(r)]`` computed as ``E[(r − m) h(r)]/v`` on each Gaussian piece ``r ~ N(m, v)``, which is
  right in the distributional sense (kinks and jumps of ``h``).

How each noise law is handled:

| law | structure | result |
|---|---|---|
| none, Rademacher | atoms | finite sum (closed form) |
| Gaussian, Gaussian mixture | Gaussian components | closed form (given ε the residual is Gaussian) |
| Laplace, uniform | continuous density | :func:`expect_noise`: ``sympy.integrate`` (closed form); :func:`expect_residual`: quadrature (sympy takes minutes on the erf integrals) — Laplace as a scale mixture, uniform by composite Gauss–Legendre (64 panels × 16 nodes; ≤ 1e-8 relative for ``P ≥ 1e-3·w²``) |
| Student-t | Gaussian scale mixture | quadrature over the mixing variable |

Quadrature for Gaussian scale mixtures (Student-t: ``ε | V ~ N(0, scale²·df/V)``, ``V ~ χ²_df``;
Laplace: ``ε | V ~ N(0, V)``, ``V ~ Exp(mean 2·scale²)``): the conditional expectation ``G(P, u)`` given
the noise variance ``u`` is a closed form, analytic in ``y = ln V``; the mixing integral is done by the
trapezoidal rule in ``y`` (exponentially convergent for integrands analytic in a strip), with step 0.2
(at most a quarter of the width √(2/ν) of the density of ``ln V`` for Student-t) and a range chosen so that the neglected tails are below 1e-17 of the integral for ``P`` in
``[1e-8, 1e8]·scale²``. The accuracy (≤ 1e-8 relative; in practice ~1e-12) is tested against adaptive
quadrature in ``tests/derive``. Numbers (noise parameters, nodes, weights, thresholds) are parameters of
the compiled function, not constants in its code (see :mod:`hdlimits.derivation.codegen`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy import integrate as _spi
from scipy.special import gammaln

from hdlimits.core import noise as _noise
from hdlimits.derivation import codegen as codegen
from hdlimits.derivation.gauss import gauss_expect

__all__ = ["NoiseExpectation", "expect_noise", "expect_residual", "QUAD_STEP", "node_family", "rebind"]

QUAD_STEP = 0.2
_P_PROBE = (1e-8, 1e-4, 1.0, 1e4, 1e8)


@dataclass(eq=False)
class NoiseExpectation:
    """``E_ε[...]`` as a function of ``P``.

    expr : sympy closed form in ``P`` (numbers substituted), or None when it is computed by quadrature.
    display : ``expr``, or for quadrature the unevaluated integral it computes.
    kind : ``"closed form"`` or ``"quadrature"``.
    func : numba ``f(P, c)``; ``params`` is its ``c``.
    template, symbols : the expression in ``P`` and parameter symbols that ``func`` evaluates.
    """

    name: str
    expr: object
    display: object
    kind: str
    func: object
    params: np.ndarray
    P: sp.Symbol
    template: object = None
    symbols: list = field(default_factory=list)
    check_error: float = float("nan")

    def __call__(self, P):
        P = np.asarray(P, dtype=np.float64)
        f, c = self.func, self.params
        out = np.array([f(float(p), c) for p in P.reshape(-1)])
        return out.reshape(P.shape) if P.ndim else float(out[0])

    def latex(self) -> str:
        return sp.latex(self.display)

    def __repr__(self):
        return f"NoiseExpectation({self.name}: {self.kind}: {self.display})"


class _Lazy:
    """A display expression built on first access (sympy display of a rebound law costs ~10 ms)."""

    def __init__(self, build):
        self.build = build


def _get_display(self):
    d = self.__dict__["_display"]
    if isinstance(d, _Lazy):
        d = self.__dict__["_display"] = d.build()
    return d


def _set_display(self, value):
    self.__dict__["_display"] = value


NoiseExpectation.display = property(_get_display, _set_display)


# ------------------------------------------------------------------------------------------------
# the structure of each noise law, with symbols for its numbers

def _structure(noise):
    """(kind, data, symbols, values).

    kind "components": data = [(weight, mean, var)] (sympy exprs in the symbols; var may be 0).
    kind "density": data = (density in eps-symbol builder, lo, hi, fallback) for Laplace / uniform.
    kind "scale_mixture": data = (mixing name, node builder).
    """
    if isinstance(noise, _noise.NoNoise) or (isinstance(noise, _noise.Gaussian) and noise.std_ == 0):
        return "components", [(sp.Integer(1), sp.Integer(0), sp.Integer(0))], [], []
    if isinstance(noise, _noise.Gaussian):
        s2 = sp.Symbol("sigma2", positive=True)
        return "components", [(sp.Integer(1), sp.Integer(0), s2)], [s2], [noise.std_ ** 2]
    if isinstance(noise, _noise.Rademacher):
        if noise.std_ == 0:
            return "components", [(sp.Integer(1), sp.Integer(0), sp.Integer(0))], [], []
        a = sp.Symbol("a_rad", positive=True)
        half = sp.Rational(1, 2)
        return "components", [(half, a, sp.Integer(0)), (half, -a, sp.Integer(0))], [a], [noise.std_]
    if isinstance(noise, _noise.GaussianMixture):
        comps, syms, vals = [], [], []
        for k, (w, m, s) in enumerate(zip(noise.weights, noise.means, noise.stds)):
            ws = sp.Symbol(f"w{k}", positive=True)
            syms.append(ws)
            vals.append(w)
            if m == 0:
                # a zero mean stays the number 0: sympy's closed forms for a symbolic mean may divide by it
                ms = sp.Integer(0)
            else:
                ms = sp.Symbol(f"m{k}", real=True)
                syms.append(ms)
                vals.append(m)
            if s == 0:
                comps.append((ws, ms, sp.Integer(0)))
            else:
                vs = sp.Symbol(f"v{k}", positive=True)
                syms.append(vs)
                vals.append(s * s)
                comps.append((ws, ms, vs))
        return "components", comps, syms, vals
    if isinstance(noise, _noise.Laplace):
        b = sp.Symbol("b_lap", positive=True)
        return "laplace", b, [b], [noise.scale]
    if isinstance(noise, _noise.Uniform):
        w = sp.Symbol("w_uni", positive=True)
        return "uniform", w, [w], [noise.half_width]
    if isinstance(noise, _noise.StudentT):
        return "student_t", None, [], []
    raise ValueError(f"noise law {noise!r} is not supported by the derivation engine")


def _mixing_nodes(noise, G_num, h=QUAD_STEP):
    """Trapezoid nodes in y = ln V for a Gaussian scale mixture: (W, U) with E[·] ≈ Σ W_j G(P, U_j).

    ``G_num(P, u)`` (vectorised numpy) bounds the integrand when choosing the range.
    """
    if isinstance(noise, _noise.StudentT):
        nu, s = noise.df, noise.scale
        logc = -(nu / 2) * math.log(2.0) - gammaln(nu / 2)

        def logp(y):  # log density of y = ln V, V ~ chi2_nu
            return logc + (nu / 2) * y - np.exp(y) / 2

        def var(y):
            return s * s * nu * np.exp(-y)
        y_mode = math.log(nu)
        # the density of ln V narrows like √(2/ν) as ν grows: keep ≥ 4 nodes per standard deviation
        h = min(h, 0.25 * math.sqrt(2.0 / nu))
    elif isinstance(noise, _noise.Laplace):
        m = 2.0 * noise.scale ** 2

        def logp(y):  # V ~ Exp(mean m): density of y is (e^y/m) exp(-e^y/m)
            return y - math.log(m) - np.exp(y) / m

        def var(y):
            return np.exp(y)
        y_mode = math.log(m)
    else:
        raise ValueError(f"{noise} is not a Gaussian scale mixture")

    def mag(y):
        y = np.atleast_1d(np.asarray(y, dtype=float))
        with np.errstate(all="ignore"):
            vals = [np.abs(np.broadcast_to(np.asarray(G_num(P, var(y)), dtype=float), y.shape))
                    for P in _P_PROBE]
            scale = [abs(float(np.ravel(G_num(P, var(np.array([y_mode]))))[0])) + 1e-300
                     for P in _P_PROBE]
            r = np.max([v * np.exp(logp(y)) / sc for v, sc in zip(vals, scale)], axis=0)
        return np.where(np.isfinite(r), r, np.inf)

    lo = y_mode - 2.0
    while mag(lo)[0] > 1e-19:
        lo -= 1.0
        if lo < y_mode - 2000:
            raise ValueError(f"the expectation over {noise} does not converge (heavy tail): "
                             "the integrand grows too fast for this law")
    hi = y_mode + 1.0
    while mag(hi)[0] > 1e-19:
        hi += 0.5
    n = int(math.ceil((hi - lo) / h)) + 1
    y = lo + h * np.arange(n)
    W = h * np.exp(logp(y))
    return W, var(y)


def _scale_mixture_display(noise, G, u):
    """An unevaluated sympy integral for display: E over the mixing law of G(P, u)."""
    V = sp.Symbol("V", positive=True)
    if isinstance(noise, _noise.StudentT):
        nu, s = sp.nsimplify(noise.df), sp.nsimplify(noise.scale)
        dens = V ** (nu / 2 - 1) * sp.exp(-V / 2) / (2 ** (nu / 2) * sp.gamma(nu / 2))
        return sp.Integral(G.subs(u, s ** 2 * nu / V) * dens, (V, 0, sp.oo))
    m = 2 * sp.nsimplify(noise.scale) ** 2
    return sp.Integral(G.subs(u, V) * sp.exp(-V / m) / m, (V, 0, sp.oo))


# ------------------------------------------------------------------------------------------------
# laws whose numbers enter only the quadrature nodes: one derivation per family

#: family → the reference law its template is derived (and checked) with
_FAMILY_REFERENCE = {"student_t": lambda: _noise.student_t(4.0, 1.0),
                     "laplace": lambda: _noise.laplace(1.0),
                     "uniform": lambda: _noise.uniform(1.0)}


def node_family(noise):
    """``(family, reference law)`` when :func:`expect_residual` treats ``noise`` by quadrature whose numbers
    (df, scale, width) enter only the nodes and weights — Student-t and Laplace (Gaussian scale mixtures)
    and uniform (Gauss–Legendre in ε) — else ``None``. For such laws the template ``G(P, u)`` and its
    compiled function do not depend on the law's numbers: :func:`rebind` moves a derivation to another
    law of the family by recomputing the nodes only."""
    for fam, cls in (("student_t", _noise.StudentT), ("laplace", _noise.Laplace), ("uniform", _noise.Uniform)):
        if isinstance(noise, cls):
            return fam, _FAMILY_REFERENCE[fam]()
    return None


_G_NUM: dict = {}


def rebind(e: NoiseExpectation, noise) -> NoiseExpectation:
    """The quadrature expectation ``e`` (from :func:`expect_residual` on a law of ``noise``'s family) for the
    law ``noise``: same template and compiled function, nodes and weights of ``noise`` (computed exactly
    as a derivation for ``noise`` would: the same :func:`_mixing_nodes` / Gauss–Legendre rule, hence the
    same parameter array). No sympy work and no check: the node rules are checked against adaptive
    quadrature over the families' parameter ranges in tests/derivation."""
    if e.kind != "quadrature" or node_family(noise) is None:
        raise ValueError(f"rebind needs a quadrature expectation and a Student-t, Laplace or uniform law, "
                         f"got a {e.kind} expectation and {noise!r}")
    syms, u = list(e.symbols[:-1]), e.symbols[-1]
    vals = np.asarray(e.params[:len(syms)], dtype=np.float64)
    if isinstance(noise, _noise.Uniform):
        W, U = _legendre_nodes(noise.half_width)
        g = e.template

        def display():   # the extra symbols (a threshold) stay symbols, as in _generic
            hw = sp.nsimplify(noise.half_width)
            return sp.Integral(g / (2 * hw), (u, -hw, hw))
    else:
        gkey = (e.template, tuple(syms), tuple(vals))
        if gkey not in _G_NUM:
            _G_NUM[gkey] = sp.lambdify((e.P, u), e.template.xreplace(
                {s: sp.Float(v) for s, v in zip(syms, vals)}), modules=["numpy", "scipy"])
        W, U = _mixing_nodes(noise, _G_NUM[gkey])
        G = e.template

        def display():
            return _scale_mixture_display(noise, G, u)
    params = np.concatenate([vals, [float(W.size)], W, U])
    return NoiseExpectation(name=e.name, expr=None, display=_Lazy(display), kind="quadrature", func=e.func,
                            params=params, P=e.P, template=e.template, symbols=list(e.symbols),
                            check_error=e.check_error)


# ------------------------------------------------------------------------------------------------

def _try_integrate(expr, var, lo, hi):
    try:
        res = sp.integrate(expr, (var, lo, hi), conds="none")
    except Exception:  # noqa: BLE001 — sympy raises many kinds of errors when it gives up
        return None
    if res.has(sp.Integral) or res.has(sp.nan) or res.has(sp.zoo):
        return None
    return res


def _simplify(e):
    try:
        return sp.simplify(e)
    except Exception:  # noqa: BLE001
        return e


def _finish(name, P, template, syms, vals, keep=()):
    """Closed form: compile, substitute numbers for display, check numerically."""
    func = codegen.compile_scalar(template, P, syms)
    sub = {s: sp.nsimplify(v) for s, v in zip(syms, vals) if s not in keep}
    expr = _simplify(template.xreplace(sub))
    return NoiseExpectation(name=name, expr=expr, display=expr, kind="closed form", func=func,
                            params=np.array(vals, dtype=np.float64), P=P, template=template,
                            symbols=list(syms))


def _finish_mixture(name, P, G, u, syms, vals, W, U, display):
    func = codegen.compile_mixture(G, P, syms, u)
    params = np.concatenate([np.asarray(vals, dtype=np.float64), [float(W.size)], W, U])
    return NoiseExpectation(name=name, expr=None, display=display, kind="quadrature", func=func,
                            params=params, P=P, template=G, symbols=list(syms) + [u])


def _legendre_nodes(half_width, panels=64, order=16):
    """Composite Gauss–Legendre nodes and weights of the uniform law on [−w, w] (weights sum to 1)."""
    x, wq = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(-half_width, half_width, panels + 1)
    mid, hw = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    U = (mid[:, None] + hw[:, None] * x[None, :]).ravel()
    W = (hw[:, None] * wq[None, :]).ravel() / (2 * half_width)
    return W, U


def _generic(name, P, noise, cond, extra_syms=(), extra_vals=(), symbolic_continuous=True):
    """Shared driver. ``cond(m, v)``: closed form of the expectation given ε ~ N(m, v) (v = 0: atom);
    at a fixed ε (Laplace / uniform laws) the conditional value is ``cond(ε, 0)``.
    """
    kind, data, syms, vals = _structure(noise)
    keep = set(extra_syms)
    syms = list(extra_syms) + list(syms)
    vals = list(extra_vals) + list(vals)
    if kind == "components":
        total = sp.Add(*[w * cond(m, v) for w, m, v in data])
        if total.has(sp.Integral):
            raise ValueError(f"{name}: sympy found no closed form of the Gaussian expectation")
        return _finish(name, P, total, syms, vals, keep)
    if kind in ("laplace", "uniform"):
        e = sp.Symbol("eps_", real=True)
        g = cond(e, 0)
        par = data
        total = None
        if not symbolic_continuous:
            pass
        elif kind == "laplace":
            f = sp.exp(-e / par) / (2 * par)
            I1 = _try_integrate(g * f, e, 0, sp.oo)
            I2 = _try_integrate(g.subs(e, -e) * f, e, 0, sp.oo) if I1 is not None else None
            total = None if I2 is None else I1 + I2
        else:
            total = _try_integrate(g / (2 * par), e, -par, par)
        if total is not None:
            return _finish(name, P, total, syms, vals, keep)
        syms, vals = list(extra_syms), list(extra_vals)
        if kind == "uniform":
            # composite Gauss–Legendre over ε (the nodes play the role of u = ε)
            W, U = _legendre_nodes(noise.half_width)
            display = sp.Integral(g.xreplace({s: sp.nsimplify(v) for s, v in zip(syms, vals) if s not in keep})
                                  / (2 * sp.nsimplify(noise.half_width)),
                                  (e, -sp.nsimplify(noise.half_width), sp.nsimplify(noise.half_width)))
            return _finish_mixture(name, P, g, e, syms, vals, W, U, display)
    # Gaussian scale mixture (Student-t; Laplace when sympy gave up)
    u = sp.Symbol("u_var", positive=True)
    G = cond(sp.Integer(0), u)
    if G.has(sp.Integral):
        raise ValueError(f"{name}: sympy found no closed form of the Gaussian expectation, needed for "
                         f"the quadrature over {noise}")
    G_num = sp.lambdify((P, u), G.xreplace({s: sp.Float(v) for s, v in zip(syms, vals)}),
                        modules=["numpy", "scipy"])
    W, U = _mixing_nodes(noise, G_num)
    display = _scale_mixture_display(noise, G.xreplace({s: sp.nsimplify(v) for s, v in zip(syms, vals)
                                                        if s not in keep}),
                                     u)
    return _finish_mixture(name, P, G, u, syms, vals, W, U, display)


def _as_expr(integrand, P, eps):
    if callable(integrand) and not isinstance(integrand, sp.Basic):
        integrand = integrand(P, eps)
    return sp.sympify(integrand)


def expect_noise(integrand, eps, P, noise, name=None, check=True) -> NoiseExpectation:
    """``E_ε[integrand(P, ε)]`` over the noise law, as a :class:`NoiseExpectation`.

    Parameters
    ----------
    integrand : sympy expression in the symbols ``P`` and ``eps`` (or a callable ``(P, eps) -> expr``).
    eps, P : the sympy symbols (``P`` should be declared positive).
    noise : a law from :mod:`hdlimits.core.noise`.
    name : a label for reports.
    check : compare the compiled function with adaptive quadrature (scipy) at a few ``P`` once, and
        raise if they disagree by more than 1e-8 relative (the discrepancy is kept in ``check_error``).

    Returns an object with ``.expr`` (closed form in P, or None), ``.kind`` (``"closed form"`` /
    ``"quadrature"``), ``.func`` (numba ``f(P, c)``), ``.params`` (its ``c``) and ``__call__(P)``.
    """
    F = _as_expr(integrand, P, eps)
    name = name or f"E[{F}]"

    def cond(m, v):
        if v == 0:
            return F.subs(eps, m)
        dens = sp.exp(-(eps - m) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)
        res = _try_integrate(F * dens, eps, -sp.oo, sp.oo)
        return sp.Integral(F * dens, (eps, -sp.oo, sp.oo)) if res is None else res

    out = _generic(name, P, noise, cond)
    if check:
        Fn = sp.lambdify((P, eps), F, modules=["numpy", "scipy"])
        _check(out, lambda p: _numeric_noise(lambda e: Fn(p, e), noise))
    return out


def expect_residual(F, r, P, noise, stein=False, extra=None, name=None, check=True) -> NoiseExpectation:
    """``E[F(r)]`` (or ``E[F'(r)]`` with ``stein=True``) for ``r = s − ε``, ``s ~ N(0, P)``.

    ``F`` is piecewise polynomial in ``r`` (Piecewise / Min / Max / sign / Abs); ``extra`` maps further
    symbols of ``F`` (e.g. a threshold, declared positive) to default values: they become parameters of
    the compiled function (``params[:len(extra)]``, in the order given) rather than constants.
    """
    extra = dict(extra or {})
    name = name or (f"E[d/dr {F}]" if stein else f"E[{F}]")

    def cond(m, v):
        # ε ~ N(m, v)  =>  r = s − ε ~ N(−m, P + v)
        mean, var = -m, P + v
        if stein:
            return gauss_expect((r - mean) * F, r, mean, var) / var
        return gauss_expect(F, r, mean, var)

    # sympy needs minutes for the erf-times-density integrals of Laplace / uniform noise: quadrature there
    out = _generic(name, P, noise, cond, extra_syms=list(extra), extra_vals=list(extra.values()),
                   symbolic_continuous=False)
    if check:
        e = sp.Symbol("eps_chk", real=True)
        g = cond(e, 0).xreplace({s: sp.Float(v) for s, v in extra.items()})
        gn = sp.lambdify((P, e), g, modules=["numpy", "scipy"])
        _check(out, lambda p: _numeric_noise(lambda x: gn(p, x), noise))
    return out


# ------------------------------------------------------------------------------------------------
# independent numerical reference (scipy adaptive quadrature) and the one-time check

def _numeric_noise(f, noise):
    """``E_ε[f(ε)]`` by adaptive quadrature (or exact sums for atoms)."""
    fv = np.vectorize(lambda e: float(f(e)))
    if isinstance(noise, (_noise.NoNoise,)) or (isinstance(noise, (_noise.Gaussian, _noise.Rademacher))
                                                and noise.std_ == 0):
        return float(fv(0.0))
    if isinstance(noise, _noise.Rademacher):
        return 0.5 * float(fv(noise.std_) + fv(-noise.std_))
    if isinstance(noise, _noise.Gaussian):
        return _quad(lambda e: fv(e) * np.exp(-e * e / (2 * noise.std_ ** 2))
                     / (noise.std_ * math.sqrt(2 * math.pi)), noise.std_)
    if isinstance(noise, _noise.GaussianMixture):
        tot = 0.0
        for w, m, s in zip(noise.weights, noise.means, noise.stds):
            if s == 0:
                tot += w * float(fv(m))
            else:
                tot += w * _quad(lambda e, m=m, s=s: fv(e) * np.exp(-(e - m) ** 2 / (2 * s * s))
                                 / (s * math.sqrt(2 * math.pi)), s, m)
        return tot
    if isinstance(noise, _noise.Uniform):
        a = noise.half_width
        pts = a * np.linspace(-0.75, 0.75, 7)
        return _quad_sum(lambda e: fv(e) / (2 * a), [-a, *pts, a])
    if isinstance(noise, _noise.Laplace):
        b = noise.scale
        return _quad(lambda e: fv(e) * np.exp(-abs(e) / b) / (2 * b), b)
    if isinstance(noise, _noise.StudentT):
        from scipy import stats
        nu, s = noise.df, noise.scale
        return _quad(lambda e: fv(e) * stats.t.pdf(e / s, nu) / s, s)
    raise ValueError(f"no numerical reference for {noise}")


_QUAD_ACCEPT = 1e-11   # relative error estimate a reference integral must reach (the check wants 1e-8)


def _piece(g, lo, hi, epsabs):
    """One adaptive-quadrature piece: ``(value, error estimate)``, no warnings printed.

    ``full_output`` makes QUADPACK report trouble (subdivision limit, roundoff, slow convergence) in its
    return value instead of an ``IntegrationWarning``; the caller decides from the error estimate.
    """
    out = _spi.quad(g, lo, hi, limit=400, epsabs=epsabs, epsrel=1e-12, full_output=1)
    return float(out[0]), float(out[1])


def _quad_sum(g, edges, tails=False):
    """``∫ g`` over ``[edges[0], edges[-1]]`` split at the interior edges (and the two infinite tails beyond
    them when ``tails``), each piece by QUADPACK; the tails get an absolute tolerance relative to the
    finite part (a tail that is exactly 0, e.g. a Gaussian factor underflowing, cannot meet a relative one).
    Raises ``RuntimeError`` when the summed error estimate exceeds ``_QUAD_ACCEPT`` relative.
    """
    edges = sorted(set(float(x) for x in edges))
    vals, errs = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        v_, e_ = _piece(g, lo, hi, 0.0)
        vals.append(v_)
        errs.append(e_)
    mid = abs(sum(vals))
    if tails:
        for lo, hi in ((-np.inf, edges[0]), (edges[-1], np.inf)):
            v_, e_ = _piece(g, lo, hi, 1e-14 * mid)
            vals.append(v_)
            errs.append(e_)
    total = float(sum(vals))
    err = float(sum(errs))
    if not np.isfinite(total) or err > _QUAD_ACCEPT * max(abs(total), 1e-300):
        raise RuntimeError(f"the adaptive-quadrature reference did not converge (value {total:.6g}, error "
                           f"estimate {err:.2e}); the compiled coefficient cannot be checked")
    return total


def _quad(g, scale, center=0.0):
    pts = center + scale * np.array([-40.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 40.0])
    return _quad_sum(g, pts, tails=True)


def _check(out: NoiseExpectation, reference, Ps=(0.05, 0.7, 3.0), tol=1e-8):
    worst = 0.0
    for p in Ps:
        got = out.func(p, out.params)
        with np.errstate(all="ignore"):
            ref = reference(p)
        err = abs(got - ref) / max(abs(ref), 1e-300)
        if abs(ref) < 1e-300 and abs(got) < 1e-300:
            err = 0.0
        worst = max(worst, err)
    out.check_error = worst
    if not worst <= tol:
        raise RuntimeError(f"{out.name}: the compiled {out.kind} disagrees with adaptive quadrature "
                           f"(relative error {worst:.2e} > {tol:.0e}); please report this")
