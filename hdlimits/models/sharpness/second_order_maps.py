"""Symbolic derivation of the exact one-step maps of the single-output second-order model
(Agarwala, Pedregosa, Pennington, arXiv 2210.04860; SAM: Agarwala & Dauphin, arXiv 2302.08692;
normalised SAM: Long & Bartlett, arXiv 2309.12488; docs/sharpness_second_order.md §2).

Model (D = 1): ``z(θ) = z₀ + J₀θ + ½θᵀQθ`` with Q = Qᵀ ∈ R^{P×P}, Jacobian ``J(θ) = J₀ + θᵀQ`` (a row),
NTK ``λ = JJᵀ`` and the moments ``m_k = J Q^k Jᵀ`` (m₀ = λ, m₁ = a, m₂ = b, …).

How sympy derives the map. Every vector the dynamics produce lies in the Krylov space of Q at Jᵀ, so it
is a polynomial ``v(q)`` in a commuting symbol q standing for Q acting on Jᵀ; inner products are the
linear functional ``⟨u, w⟩ = 𝓛[u(q) w(q)]`` with ``𝓛[q^k] = m_k``. The step Δθ then gives, with no
truncation (Q is constant),

    z' = z + 𝓛[Δθ] + ½𝓛[q Δθ²],   J'ᵀ = Jᵀ + QΔθ ↦ 1 + qΔθ(q),   m_k' = 𝓛[q^k (1 + qΔθ)²].

GD: Δθ = −η z Jᵀ. SAM: ascend by d = r·g (r = ρ; normalised SAM r = ρ/‖g‖ = ρ/(|z|√m₀)), so
z̃ = z + 𝓛[d] + ½𝓛[q d²], J̃ = 1 + q d, and Δθ = −η z̃ J̃. Q with r distinct eigenvalues closes the
hierarchy: ``m_{k+r} = Σ_j c_j m_{k+j}`` (the minimal polynomial ``x^r − Σ_j c_j x^j``); for two
eigenvalues q₁, q₂ this is ``m_{k+2} = s m_{k+1} − p m_k`` (s = q₁ + q₂, p = q₁q₂).
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from hdlimits.derivation import codegen

__all__ = ["DerivedMap", "derive_symbolic", "closure_coefficients", "two_step_identity",
           "gradient_flow_invariant", "compiled_map", "MAX_ORDER"]

#: largest number of distinct eigenvalues of Q the moment closure accepts
MAX_ORDER = 6

z, eta, rho, r_ = sp.symbols("z eta rho r", real=True)
zt = sp.Symbol("ztilde", real=True)
q = sp.Symbol("q")


def moment(k: int) -> sp.Symbol:
    """The symbol m_k = J Q^k Jᵀ."""
    return sp.Symbol(f"m{k}", real=True)


def _functional(poly) -> sp.Expr:
    """𝓛[Σ c_k q^k] = Σ c_k m_k."""
    p = sp.Poly(sp.expand(poly), q)
    return sp.expand(sum(c * moment(k[0]) for k, c in zip(p.monoms(), p.coeffs())))


class DerivedMap:
    """The one-step map of (z, m₀, …, m_{r−1}) for one optimizer, as sympy expressions.

    ``ascent`` is the expression of z̃ (SAM; None for GD), ``updates`` maps ``"z"`` and ``"m0"``…
    to expressions in z, z̃, η, r (the ascent scale: ρ, or ρ/‖g‖ for normalised SAM) and the raw moments
    m_0…m_K; :meth:`closed` substitutes the closure; :meth:`latex` prints the equations."""

    def __init__(self, kind, order, ascent, updates, closure):
        self.kind = kind
        self.order = order
        self.ascent = ascent
        self.updates = updates
        self.closure = closure

    def max_moment(self) -> int:
        syms = set()
        for e in list(self.updates.values()) + ([self.ascent] if self.ascent is not None else []):
            syms |= e.free_symbols
        return max(int(s.name[1:]) for s in syms if s.name.startswith("m") and s.name[1:].isdigit())

    def closed(self) -> dict:
        """The updates with z̃ substituted and the moments m_{k ≥ r} replaced by the closure."""
        sub = self.closure_substitution()
        out = {}
        for k, e in self.updates.items():
            if self.ascent is not None:
                e = e.subs(zt, self.ascent)
            out[k] = sp.expand(e.xreplace(sub))
        return out

    def closure_substitution(self) -> dict:
        """{m_k: expression in m_0…m_{r−1} and c_j} for r ≤ k ≤ K."""
        r = self.order
        c = [sp.Symbol(f"c{j}", real=True) for j in range(r)]
        sub = {}
        expr = {k: moment(k) for k in range(r)}
        for k in range(r, self.max_moment() + 1):
            expr[k] = sp.expand(sum(c[j] * expr[k - r + j] for j in range(r)))
            sub[moment(k)] = expr[k]
        return sub

    def latex(self) -> str:
        """The map as LaTeX (an ``aligned`` block); primes are the next step."""
        names = {z: sp.Symbol("z"), eta: sp.Symbol(r"\eta"), r_: sp.Symbol(r"r"), zt: sp.Symbol(r"\tilde z")}
        lines = []
        if self.ascent is not None:
            r_def = r"r = \rho" if self.kind == "sam" else r"r = \rho/\|g\| = \rho/(|z|\sqrt{m_0})"
            lines.append(r_def)
            lines.append(r"\tilde z &= " + sp.latex(sp.collect(self.ascent.xreplace(names), sp.Symbol("z"))))
        for k, e in self.updates.items():
            lhs = "z'" if k == "z" else f"m_{{{k[1:]}}}'"
            lines.append(f"{lhs} &= " + sp.latex(e.xreplace(names)))
        lines.append(r"m_{k+%d} &= " % self.order
                     + " + ".join(f"c_{{{j}}} m_{{k+{j}}}" for j in range(self.order))
                     + r"\quad\text{(closure: the minimal polynomial of } Q\text{)}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def __repr__(self):
        return f"DerivedMap({self.kind}, order={self.order})"


@functools.lru_cache(maxsize=None)
def derive_symbolic(kind: str, order: int) -> DerivedMap:
    """Derive the exact map of ``kind`` ('gd', 'sam' or 'sam-normalized'; the latter two differ only in
    r) for Q with ``order`` distinct eigenvalues, by the Krylov-polynomial calculus above."""
    if kind not in ("gd", "sam", "sam-normalized"):
        raise ValueError(f"kind must be 'gd', 'sam' or 'sam-normalized', got {kind!r}")
    if kind == "gd":
        ascent = None
        dtheta = -eta * z * sp.Integer(1)
    else:
        d = r_ * z * sp.Integer(1)                               # ascent d = r g, g = z Jᵀ
        ascent = sp.expand(z + _functional(d) + sp.Rational(1, 2) * _functional(q * d * d))
        j_tilde = 1 + q * d                                      # J̃ᵀ = Jᵀ + Q d
        dtheta = -eta * zt * j_tilde
    j_new = sp.expand(1 + q * dtheta)
    updates = {"z": sp.expand(z + _functional(dtheta) + sp.Rational(1, 2) * _functional(q * dtheta ** 2))}
    for k in range(order):
        updates[f"m{k}"] = _functional(q ** k * j_new ** 2)
    return DerivedMap(kind, order, ascent, updates, None)


def closure_coefficients(eigenvalues) -> np.ndarray:
    """c_j with ``m_{k+r} = Σ_j c_j m_{k+j}``: from ``Π(x − q_i) = x^r − Σ_j c_j x^j``."""
    poly = np.poly(np.asarray(eigenvalues, dtype=np.float64))     # leading 1, descending powers
    return -poly[1:][::-1].copy()


def two_step_identity():
    """The two-step change of λ under GD at the edge, derived from the exact map with the two-eigenvalue
    closure: returns ``(exact, expansion)`` where ``exact`` is λ_{t+2} − λ_t (in z, λ, a, s, p, η) and
    ``expansion`` its series at ηλ = 2 + δ to O(z²), first order in δ:
    ``2ηaδ z − η²z²(ηa² + 2b)`` (docs/sharpness_second_order.md §3)."""
    s, p, delta = sp.symbols("s p delta", real=True)
    lam, a = moment(0), moment(1)
    m = derive_symbolic("gd", 2)
    one = m.closed()
    sub_c = {sp.Symbol("c0", real=True): -p, sp.Symbol("c1", real=True): s}
    one = {k: e.xreplace(sub_c) for k, e in one.items()}
    state2 = {z: one["z"], lam: one["m0"], a: one["m1"]}
    lam2 = one["m0"].xreplace(state2)
    exact = sp.expand(lam2 - lam)
    ser = sp.series(exact.subs(lam, (2 + delta) / eta), z, 0, 3).removeO()
    ser = sp.expand(ser)
    c1 = sp.series(ser.coeff(z, 1), delta, 0, 2).removeO()
    c2 = ser.coeff(z, 2).subs(delta, 0)
    b = sp.Symbol("b", real=True)
    expansion = sp.simplify(c1) * z + sp.simplify(c2.subs(p, (s * a - b) * eta / 2)) * z ** 2
    return exact, sp.expand(expansion)


def gradient_flow_invariant(order: int = 2):
    """The conserved linear combination I = Σ_j a_j m_j + b z of gradient flow dz/dt = −z m₀,
    dm_k/dt = −2z m_{k+1} under the closure: a_{r−1} = 1, a_{j−1} = −c_j, b = −2c₀. Derived by sympy
    (solve dI/dt ≡ 0); for r = 2 it is ``I = 2p z − s λ + a`` and for isotropic Q ``λ − 2qz``."""
    c = [sp.Symbol(f"c{j}", real=True) for j in range(order)]
    aa = list(sp.symbols(f"a0:{order}", real=True))
    bb = sp.Symbol("b_z", real=True)
    inv = sum(aa[j] * moment(j) for j in range(order)) + bb * z
    mr = sum(c[j] * moment(j) for j in range(order))
    dI = sum(aa[j] * (-2 * z * (moment(j + 1) if j + 1 < order else mr)) for j in range(order)) + bb * (-z * moment(0))
    eqs = sp.Poly(sp.expand(dI / z), *[moment(j) for j in range(order)]).coeffs()
    sol = sp.solve(list(eqs) + [aa[-1] - 1], aa + [bb], dict=True)[0]
    return sp.expand(inv.xreplace(sol))


_STEP_TEMPLATE = """\
@njit(cache=True, nogil=True)
def f(x0, par, out, guard):
    # x = (z, m_0..m_{{r-1}}); par = (eta, rho, c_0..c_{{r-1}}); out: (steps+1) x (r+1)
    nr = {order}
    eta = par[0]
    rho = par[1]
    mm = np.empty({nmom})
    for i in range(nr + 1):
        out[0, i] = x0[i]
    n = out.shape[0]
    for t in range(n - 1):
        z = out[t, 0]
        for i in range(nr):
            mm[i] = out[t, 1 + i]
        for k in range(nr, {nmom}):
            acc = 0.0
            for j in range(nr):
                acc += par[2 + j] * mm[k - nr + j]
            mm[k] = acc
{moments}
{ascent}
{updates}
        bad = not (abs(out[t + 1, 0]) <= guard)
        for i in range(nr):
            if not math.isfinite(out[t + 1, 1 + i]):
                bad = True
        if bad:
            return t + 1
    return -1
"""


@functools.lru_cache(maxsize=None)
def compiled_map(kind: str, order: int):
    """The numba-compiled iteration ``f(x0, par, out, guard) -> divergence step or −1`` of the derived
    map (generated source, cached on disk by :mod:`hdlimits.derivation.codegen`)."""
    m = derive_symbolic(kind, order)
    nmom = m.max_moment() + 1
    moments = "\n".join(f"        m{k} = mm[{k}]" for k in range(nmom))
    if kind == "gd":
        ascent = "        r = 0.0"
    elif kind == "sam":
        ascent = "        r = rho\n        ztilde = " + codegen.to_code(m.ascent)
    else:
        ascent = ("        gn = abs(z) * math.sqrt(max(m0, 0.0))\n"
                  "        r = rho / gn if gn > 0.0 else 0.0\n"
                  "        ztilde = " + codegen.to_code(m.ascent))
    lines = []
    for i, (k, e) in enumerate(m.updates.items()):
        lines.append(f"        out[t + 1, {i}] = " + codegen.to_code(e))
    src = (codegen._HEADER + "import numpy as np\n\n\n"
           + _STEP_TEMPLATE.format(order=order, nmom=nmom, moments=moments, ascent=ascent,
                                   updates="\n".join(lines)))
    return codegen._load(src, "so")
