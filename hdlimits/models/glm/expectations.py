"""Gaussian expectations of a GLM model: the risk ``h(B)``, the matrices ``J(B)``, ``I(B)`` and the
curvature tensor of the block limit (docs/glm.md §2; the limit is Collins-Woodfin, Paquette, Paquette,
Seroussi, arXiv 2308.08977).

Over ``r ~ N(0, B)`` with the label randomness integrated out first (``ψ̄ = E_ε ψ``, ``(ψψᵀ)‾ = E_ε ψψᵀ``,
``f̄ = E_ε f``):

    h(B) = E f̄,   J(B) = B⁻¹ E[r ψ̄̃ᵀ] (= E[∇_r ψ̄̃ᵀ] for smooth ψ̄),   I(B) = E[(ψ̃ψ̃ᵀ)‾],
    C_abce(B) = E[(y_a y_b − (B⁻¹)_ab) (ψ̃_c ψ̃_e)‾],  y = B⁻¹ r   (= E[∂_a∂_b (ψ̃_cψ̃_e)‾] for smooth ψ̄).

How each is computed (``kind``):
* ``"closed form"`` — ψ̄, (ψψᵀ)‾, f̄ polynomial in r (least squares, phase retrieval, multi-output linear):
  Wick moments in the entries of B (:mod:`hdlimits.models.glm.wick`), derivative forms;
  the ReLU teacher–student model: the arc-cosine forms of :mod:`hdlimits.models.glm.relu_forms` (its
  curvature by cubature).
* ``"quadrature"`` — otherwise: the cubature of :mod:`hdlimits.models.glm.cubature`, derivative forms for
  smooth ψ̄ (valid at singular B), Stein forms otherwise (B must be positive definite).

Every expectations object is checked once (:meth:`GLMExpectations.run_check`) at a random positive-definite
B against an independent computation (scipy adaptive quadrature for k = 2, a 10⁶-sample Monte Carlo of the
un-averaged loss for k ≥ 3).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from hdlimits.models.glm import cubature as cub
from hdlimits.models.glm import symbolic as S
from hdlimits.models.glm import wick
from hdlimits.models.glm.relu_forms import relu_forms

__all__ = ["GLMExpectations", "derive_expectations", "EVAL_TOL", "CURV_TOL"]

#: node-count tolerances of the cubature (smooth, non-smooth integrands), docs/glm.md §2.4
EVAL_TOL = (1e-7, 1e-5)
CURV_TOL = (1e-6, 1e-4)


def _compile_closed(exprs, Bsym, params):
    """numba ``f(B (k,k), cpar_, out)`` writing ``out[i] = exprs[i](B, params)``."""
    k = Bsym.shape[0]
    lines = "".join(f"    B_{i + 1}{j + 1} = B[{i}, {j}]\n" for i in range(k) for j in range(i, k))
    lines += "".join(f"    {p} = cpar_[{j}]\n" for j, p in enumerate(params))
    body = S.assignments(exprs, [f"out[{i}]" for i in range(len(exprs))])
    return S.compile_module("@njit(cache=True, nogil=True)\ndef f(B, cpar_, out):\n" + lines + body
                            + "    return\n", "gc")


class _Closed:
    def __init__(self, exprs, Bsym, params):
        self.func = _compile_closed(exprs, Bsym, params)
        self.nv = len(exprs)

    def __call__(self, B, cvals):
        out = np.empty(self.nv)
        self.func(B, cvals, out)
        return out


class GLMExpectations:
    """``evaluate(B) -> (h, J, I)``, ``risk(B)``, ``curvature(B)`` of one model under one noise law."""

    def __init__(self, model, noise, *, kind, cvals, params, parts, evaluator, eval_form, risk_eval,
                 curvature_builder, display):
        self.model, self.noise, self.kind = model, noise, kind
        self.cvals = np.ascontiguousarray(cvals, dtype=np.float64)
        self.params = params
        self.parts = parts             # dict: fbar, psibar, PP (sympy, label-averaged)
        self._eval = evaluator
        self.eval_form = eval_form     # "derivative" | "stein" | "final"
        self._risk = risk_eval
        self._curv_builder = curvature_builder
        self._curv = None
        self._display = display
        self.check_error = math.nan
        self.check_tolerance = math.nan
        self.checked = False

    @property
    def k(self):
        return self.model.k

    @property
    def m(self):
        return self.model.m

    @property
    def node_error(self) -> float:
        """Agreement of the last two node counts of the cubature (0 for closed forms)."""
        return float(getattr(self._eval, "node_error", 0.0))

    def _B(self, B):
        B = np.ascontiguousarray(B, dtype=np.float64)
        if B.shape != (self.k, self.k):
            raise ValueError(f"B must be a {self.k}×{self.k} overlap matrix, got shape {B.shape}")
        return B

    def _require_pd(self, B):
        s = np.linalg.eigvalsh(B)
        if not s[0] > 1e-12 * max(1.0, float(s[-1])):
            raise ValueError(f"B must be positive definite for the non-smooth model {self.model.name} (its J "
                             f"and curvature use the Stein form B⁻¹E[rψᵀ]): the non-smooth model needs a "
                             f"student with non-degenerate overlaps (smallest eigenvalue of B: {float(s[0]):.3g})")

    def evaluate(self, B):
        """``(h, J, I)`` at the overlaps ``B`` (k×k): J with its first m columns non-zero, I with its
        top-left m×m block non-zero."""
        B = self._B(B)
        k, m = self.k, self.m
        if self.eval_form != "derivative":
            self._require_pd(B)
        vals = self._eval(B, self.cvals)
        Jraw = vals[1:1 + k * m].reshape(k, m)
        J = np.zeros((k, k))
        J[:, :m] = np.linalg.solve(B, Jraw) if self.eval_form == "stein" else Jraw
        I = np.zeros((k, k))
        I[:m, :m] = vals[1 + k * m:].reshape(m, m)
        return float(vals[0]), J, I

    def risk(self, B) -> float:
        """``h(B) = E f`` (label randomness included; works at singular B)."""
        return float(self._risk(self._B(B), self.cvals)[0])

    def curvature(self, B) -> np.ndarray:
        """``C_abce(B)`` (k, k, k, k), non-zero only for c, e < m (docs/glm.md §2.5)."""
        B = self._B(B)
        if self._curv is None:
            self._curv = self._curv_builder()
        kind, fn = self._curv
        k, m = self.k, self.m
        C = np.zeros((k, k, k, k))
        if kind == "derivative":
            C[:, :, :m, :m] = fn(B, self.cvals).reshape(k, k, m, m)
            return C
        self._require_pd(B)
        vals = fn(B, self.cvals)
        Err = vals[:k * k * m * m].reshape(k, k, m, m)
        EPP = vals[k * k * m * m:].reshape(m, m)
        Bi = np.linalg.inv(B)
        C[:, :, :m, :m] = np.einsum("ai,bj,ijce->abce", Bi, Bi, Err) - Bi[:, :, None, None] * EPP
        return C

    def latex(self) -> str:
        return self._display

    def run_check(self):
        """Compare h, J, I once at a random positive-definite B with an independent computation; raises
        RuntimeError on disagreement (docs/glm.md §2.6)."""
        if self.checked:
            return self
        from hdlimits.models.glm import check as chk
        err, tol = chk.check(self)
        self.check_error, self.check_tolerance, self.checked = err, tol, True
        return self

    def __repr__(self):
        return f"GLMExpectations({self.model.name}, {self.noise.spec()}, {self.kind})"


# ---------------------------------------------------------------------------- derivation

def averaged_parts(model):
    """f̄, ψ̄ (m), (ψψᵀ)‾ (m×m) with the label randomness integrated out."""
    def avg(e):
        return S.label_average(e, model.eps, model.labels, model.label_mean)[0]
    fbar = avg(model.loss)
    psibar = [avg(p) for p in model.psi]
    PP = [[avg(model.psi[c] * model.psi[e]) for e in range(model.m)] for c in range(model.m)]
    return {"fbar": fbar, "psibar": psibar, "PP": PP}


def _eval_exprs(parts, r, m, form):
    k = len(r)
    if form == "derivative":
        Jraw = [sp.diff(parts["psibar"][j], r[i]) for i in range(k) for j in range(m)]
    else:
        Jraw = [r[i] * parts["psibar"][j] for i in range(k) for j in range(m)]
    return [parts["fbar"], *Jraw, *[parts["PP"][c][e] for c in range(m) for e in range(m)]]


def _curv_exprs(parts, r, m, form):
    k = len(r)
    PP = [parts["PP"][c][e] for c in range(m) for e in range(m)]
    if form == "derivative":
        return [sp.diff(p, r[a], r[b]) for a in range(k) for b in range(k) for p in PP]
    return [r[a] * r[b] * p for a in range(k) for b in range(k) for p in PP] + PP


def _wick_all(exprs, r, Bsym):
    return [wick.gaussian_expectation(e, r, Bsym) for e in exprs]


def _polynomial_moments(exprs, r, Bsym):
    """Wick moments of ``exprs`` or None when one is not a polynomial in r."""
    try:
        return _wick_all(exprs, r, Bsym)
    except (ValueError, sp.PolynomialError):
        return None


def derive_expectations(model, noise) -> GLMExpectations:
    """Build the expectations object of ``model`` under ``noise`` (see the module docstring)."""
    r, k, m = model.r, model.k, model.m
    params = S.moment_symbols(model.moment_order)
    cvals = model.noise_moments(noise)
    parts = averaged_parts(model)
    Bsym = wick.overlap_symbols(k)
    smooth = model.smooth
    form = "derivative" if smooth else "stein"
    kinks = None if smooth else S.kinks([*parts["psibar"], parts["fbar"]], r)
    tol_i = 0 if smooth else 1

    def cubature(exprs, tol):
        c = cub.Cubature(exprs, r, params, kinks)
        c.choose_levels(cvals, tol)
        return c

    if model.forms == "relu":
        h, J, I = relu_forms()
        ev = _Closed([h, *[J[i, j] for i in range(k) for j in range(m)], *[I[c, e] for c in range(m)
                                                                           for e in range(m)]], Bsym, params)
        risk = _Closed([h], Bsym, params)
        kind, eval_form = "closed form", "final"
        display = _latex_closed(h, J[:, :m], I[:m, :m], "arc-cosine forms (docs/glm.md §2.3)")

        def curv():
            return ("stein", cubature(_curv_exprs(parts, r, m, "stein"), CURV_TOL[1]))
    elif smooth and (moments := _polynomial_moments(_eval_exprs(parts, r, m, "derivative"), r, Bsym)):
        ev = _Closed(moments, Bsym, params)
        risk = _Closed(moments[:1], Bsym, params)
        kind, eval_form = "closed form", "derivative"
        Jm = sp.Matrix(k, m, moments[1:1 + k * m])
        Im = sp.Matrix(m, m, moments[1 + k * m:])
        display = _latex_closed(moments[0], Jm, Im, "Wick moments (docs/glm.md §2.2)")

        def curv():
            return ("derivative", _Closed(_wick_all(_curv_exprs(parts, r, m, "derivative"), r, Bsym),
                                          Bsym, params))
    else:
        ev = cubature(_eval_exprs(parts, r, m, form), EVAL_TOL[tol_i])
        risk = cubature([parts["fbar"]], EVAL_TOL[tol_i])
        kind, eval_form = "quadrature", form
        display = _latex_quadrature(parts, r, m, form, ev)

        def curv():
            return (form, cubature(_curv_exprs(parts, r, m, form), CURV_TOL[tol_i]))
    return GLMExpectations(model, noise, kind=kind, cvals=cvals, params=params, parts=parts, evaluator=ev,
                           eval_form=eval_form, risk_eval=risk, curvature_builder=curv, display=display)


def _latex_closed(h, J, I, how):
    return (f"% closed form: {how}\n"
            f"h(B) = {sp.latex(h)}\\\\\n"
            f"J(B)_{{:, 1:m}} = {sp.latex(J)}\\\\\n"
            f"I(B)_{{1:m, 1:m}} = {sp.latex(I)}")


def _latex_quadrature(parts, r, m, form, ev):
    rv = sp.Matrix(r)
    psi = sp.Matrix(parts["psibar"])
    PP = sp.Matrix(parts["PP"])
    gauss = r"\,\mathcal{N}(r; 0, B)\,dr"
    J = (rf"J(B)_{{:, 1:m}} = \int \nabla_r {sp.latex(psi.T)}{gauss}" if form == "derivative" else
         rf"J(B)_{{:, 1:m}} = B^{{-1}} \int {sp.latex(rv)} {sp.latex(psi.T)}{gauss}")
    return (f"% quadrature: Gauss–Hermite cubature, node counts {ev.levels} for max B_ii ≤ {cub.SCALES} "
            f"(docs/glm.md §2.4)\n"
            f"h(B) = \\int {sp.latex(parts['fbar'])}{gauss}\\\\\n{J}\\\\\n"
            f"I(B)_{{1:m, 1:m}} = \\int {sp.latex(PP)}{gauss}")
