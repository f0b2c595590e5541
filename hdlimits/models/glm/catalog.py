"""The GLM / multi-index models (docs/glm.md §1): :class:`GLMModel` and the catalog
``least_squares``, ``relu``, ``phase_retrieval``, ``logistic``, ``multi_index``.

A model is a per-sample loss ``f(r, ε)`` of the pre-activations ``r = (Xᵀx, X*ᵀx) ∈ R^k`` (``k = m + m*``,
student coordinates first) and of the label randomness (additive noise ε, one value per output, or a
Bernoulli label y), written in sympy; ``ψ = ∇_{r_student} f``. From it come the numba per-sample kernel
:attr:`GLMModel.sample_psi` used by the simulator and the Gaussian expectations ``h, J, I`` and the
curvature tensor of the block limit (:mod:`hdlimits.models.glm.expectations`), following Collins-Woodfin,
Paquette, Paquette, Seroussi, "Hitting the high-dimensional notes" (arXiv 2308.08977).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from hdlimits.core import noise as noise_mod
from hdlimits.models.glm import symbolic as S
from hdlimits.models.glm.symbolic import relu as relu_fn, sigmoid, softplus, step

__all__ = ["GLMModel", "least_squares", "relu", "phase_retrieval", "logistic", "multi_index",
           "relu_fn", "sigmoid", "softplus", "step"]

_EXPECTATIONS: dict = {}


@dataclass(frozen=True, eq=False)
class GLMModel:
    """A per-sample loss ``f(r, ε)`` and its student gradient ``ψ = ∇_{r_1..r_m} f`` (docs/glm.md §1).

    Attributes
    ----------
    name : short name.
    m, m_star : student and teacher widths; ``k = m + m_star``.
    n_xi : label randomness per sample (additive: one noise value per output; bernoulli: one uniform).
    labels : ``"additive"`` (``ε`` from the noise law) or ``"bernoulli"`` (``y ~ Bernoulli(σ(r*))``).
    smooth : ψ (averaged over the labels) has no kink or jump; else J and the curvature use the Stein form.
    r, eps : the sympy symbols (``eps`` is ``(y,)`` for Bernoulli labels).
    loss, psi : sympy expressions of ``f`` and of the m components of ψ.
    label_mean : ``E[y | r]`` for Bernoulli labels (``σ(r*)``), else None.
    loss_kind : ``"square"`` (ε additive), ``"cross-entropy"`` or ``"custom"`` (no label noise).
    forms : name of hand-derived closed forms (``"relu"``) or None.
    """

    name: str
    m: int
    m_star: int
    n_xi: int
    labels: str
    smooth: bool
    r: tuple
    eps: tuple
    loss: object
    psi: tuple
    label_mean: object = None
    loss_kind: str = "square"
    forms: str | None = None
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        return self.m + self.m_star

    @cached_property
    def key(self) -> str:
        """A string identifying the model's mathematics (memoisation key)."""
        return sp.srepr((self.loss, tuple(self.psi), self.labels, self.label_mean, self.loss_kind,
                         self.forms, tuple(self.r), tuple(self.eps)))

    # -------------------------------------------------------------------- noise
    @cached_property
    def moment_order(self) -> int:
        """The highest moment ``E εᵖ`` the expectations use (0 when no additive noise enters)."""
        if self.labels != "additive":
            return 0
        p = 0
        for e in (self.loss, *[a * b for a in self.psi for b in self.psi]):
            p = max(p, S.label_average(e, self.eps, "additive")[1])
        return p

    def check_noise(self, noise) -> None:
        """ValueError naming ``noise`` when the law is not allowed for this model or lacks a needed moment."""
        if not isinstance(noise, noise_mod.NoiseLaw):
            raise ValueError(f"noise must be a NoiseLaw from hdlimits.noise, got {type(noise).__name__}")
        if self.labels == "bernoulli":
            if not isinstance(noise, noise_mod.NoNoise):
                raise ValueError(f"noise must be none() for {self.name}: logistic labels are Bernoulli(σ(r*)); "
                                 f"label noise must be none (got {noise.spec()})")
            return
        if self.loss_kind == "custom" and not isinstance(noise, noise_mod.NoNoise):
            raise ValueError(f"noise must be none() for {self.name}: additive label noise is defined for "
                             f"loss='square' only (got {noise.spec()})")
        p = self.moment_order
        if p >= 1 and not math.isfinite(noise.mean):
            raise ValueError(f"noise must have a finite mean E ε for {self.name} (range: e.g. student_t with "
                             f"df > 1), got {noise.spec()}")
        if p >= 2 and not math.isfinite(noise.second_moment):
            raise ValueError(f"noise must have a finite second moment E ε² for the square loss of {self.name} "
                             f"(range: e.g. student_t with df > 2), got {noise.spec()}")

    def noise_moments(self, noise) -> np.ndarray:
        """``(μ_1, …, μ_p)`` with ``μ_p = E εᵖ`` (p = :attr:`moment_order`)."""
        self.check_noise(noise)
        vals = []
        for p in range(1, self.moment_order + 1):
            if p == 1:
                vals.append(float(noise.mean))
            elif p == 2:
                vals.append(float(noise.second_moment))
            else:
                eps = sp.Symbol("eps", real=True)
                vals.append(float(noise.expect(eps ** p, eps)))
        return np.array(vals, dtype=np.float64)

    def draw_xi(self, noise, rng, n: int) -> np.ndarray:
        """Label randomness for ``n`` samples, shape (n, n_xi): additive noise values (one per output) or
        uniforms on [0, 1) (``y = 1{u < σ(r*)}`` inside :attr:`sample_psi`)."""
        self.check_noise(noise)
        if self.labels == "bernoulli":
            return rng.random((int(n), 1))
        return np.asarray(noise.sample(rng, (int(n), self.n_xi)), dtype=np.float64).reshape(int(n), self.n_xi)

    # -------------------------------------------------------------------- per-sample kernel
    @cached_property
    def sample_psi(self):
        """numba ``f(r (k,), xi (n_xi,), psi_out (m,)) -> float``: writes ψ, returns the loss f."""
        names = {s: sp.Symbol(f"v{i}") for i, s in enumerate(self.r)}
        lines = "".join(f"    v{i} = r[{i}]\n" for i in range(self.k))
        if self.labels == "bernoulli":
            names[self.eps[0]] = sp.Symbol("ylab")
            lines += (f"    ylab = 1.0 if xi[0] < {S.to_code(self.label_mean.xreplace(names))} else 0.0\n")
        else:
            for j, e in enumerate(self.eps):
                names[e] = sp.Symbol(f"e{j}")
                lines += f"    e{j} = xi[{j}]\n"
        exprs = [p.xreplace(names) for p in self.psi] + [self.loss.xreplace(names)]
        targets = [f"psi_out[{i}]" for i in range(self.m)] + ["loss_"]
        body = ("@njit(cache=True, nogil=True)\ndef f(r, xi, psi_out):\n" + lines
                + S.assignments(exprs, targets) + "    return loss_\n")
        return S.compile_module(body, "gs")

    # -------------------------------------------------------------------- expectations
    def expectations(self, noise=None, check: bool = True):
        """The Gaussian expectations ``h, J, I`` and the curvature over ``r ~ N(0, B)`` with the label
        randomness integrated out (:class:`hdlimits.models.glm.expectations.GLMExpectations`), memoised per
        (model, noise law)."""
        from hdlimits.models.glm import expectations as ex
        noise = noise_mod.none() if noise is None else noise
        self.check_noise(noise)
        key = (self.key, noise.spec())
        out = _EXPECTATIONS.get(key)
        if out is None:
            out = ex.derive_expectations(self, noise)
            _EXPECTATIONS[key] = out
        if check:
            out.run_check()
        return out

    def __repr__(self):
        return f"GLMModel({self.name}, m={self.m}, m*={self.m_star}, labels={self.labels})"


# ---------------------------------------------------------------------------- construction

def _symbols(m, m_star):
    if m == 1 and m_star == 1:
        return sp.symbols("r1 r2", real=True)
    return (sp.symbols(f"r1:{m + 1}", real=True) + sp.symbols(f"s1:{m_star + 1}", real=True))


def _eps_symbols(n):
    if n == 1:
        return (sp.Symbol("epsilon", real=True),)
    return sp.symbols(f"epsilon1:{n + 1}", real=True)


def _build(name, m, m_star, loss, r, eps, labels="additive", label_mean=None, loss_kind="square",
           forms=None):
    loss = S.canonical(loss)
    psi = tuple(sp.diff(loss, s) for s in r[:m])
    avg = [S.label_average(p, eps, labels, label_mean)[0] for p in psi]
    n_xi = 1 if labels == "bernoulli" else len(eps)
    return GLMModel(name=name, m=m, m_star=m_star, n_xi=n_xi, labels=labels, smooth=S.is_smooth(avg),
                    r=tuple(r), eps=tuple(eps), loss=loss, psi=psi, label_mean=label_mean,
                    loss_kind=loss_kind, forms=forms)


@functools.lru_cache(maxsize=None)
def least_squares() -> GLMModel:
    """Linear regression as a GLM: m = m* = 1, ``f = ½(r1 − r2 − ε)²``, ``ψ = r1 − r2 − ε``."""
    r1, r2 = _symbols(1, 1)
    (e,) = _eps_symbols(1)
    return _build("least_squares", 1, 1, (r1 - r2 - e) ** 2 / 2, (r1, r2), (e,))


@functools.lru_cache(maxsize=None)
def relu() -> GLMModel:
    """Teacher–student ReLU: ``f = ½(relu(r1) − relu(r2) − ε)²``, ``ψ = 1{r1>0}(relu(r1) − relu(r2) − ε)``
    (not smooth: J by the Stein form; closed forms in docs/glm.md §2.3)."""
    r1, r2 = _symbols(1, 1)
    (e,) = _eps_symbols(1)
    return _build("relu", 1, 1, (relu_fn(r1) - relu_fn(r2) - e) ** 2 / 2, (r1, r2), (e,), forms="relu")


@functools.lru_cache(maxsize=None)
def phase_retrieval() -> GLMModel:
    """Phase retrieval: ``f = ½(r1² − r2² − ε)²``, ``ψ = 2 r1 (r1² − r2² − ε)``."""
    r1, r2 = _symbols(1, 1)
    (e,) = _eps_symbols(1)
    return _build("phase_retrieval", 1, 1, (r1 ** 2 - r2 ** 2 - e) ** 2 / 2, (r1, r2), (e,))


@functools.lru_cache(maxsize=None)
def logistic() -> GLMModel:
    """Logistic regression: labels ``y ~ Bernoulli(σ(r2))``, cross-entropy ``f = log(1 + e^{r1}) − y r1``,
    ``ψ = σ(r1) − y``; the risk includes the Bayes term. Label noise must be none."""
    r1, r2 = _symbols(1, 1)
    y = sp.Symbol("y", real=True)
    return _build("logistic", 1, 1, softplus(r1) - y * r1, (r1, r2), (y,), labels="bernoulli",
                  label_mean=sigmoid(r2), loss_kind="cross-entropy")


def _call(name, fn, width, syms):
    try:
        out = fn(tuple(syms))
    except (IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{name} must be a callable taking a tuple of {width} sympy symbols and returning a "
                         f"sympy expression or a list of them; calling it failed: {exc}") from None
    if isinstance(out, (list, tuple, sp.MatrixBase)):
        vals = [sp.sympify(x) for x in (list(out) if not isinstance(out, sp.MatrixBase) else list(out))]
    else:
        vals = [sp.sympify(out)]
    for x in vals:
        if not isinstance(x, sp.Expr) or not x.free_symbols <= set(syms):
            raise ValueError(f"{name} must return sympy expressions of its {width} input symbols only, got {x}")
    return [S.canonical(x) for x in vals]


def _width(name, fn, given):
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given < 1:
            raise ValueError(f"{'m' if name == 'student' else 'm_star'} must be an integer ≥ 1, got {given!r}")
        return int(given)
    for n in range(1, 9):
        try:
            fn(tuple(sp.symbols(f"z0:{n}", real=True)))
            return n
        except Exception:   # noqa: BLE001 — too few inputs (IndexError, a shape error, …): try more
            continue
    raise ValueError(f"{name}: could not be called with 1..8 sympy symbols; pass "
                     f"{'m' if name == 'student' else 'm_star'} explicitly")


def multi_index(student, teacher, loss="square", m=None, m_star=None, name=None) -> GLMModel:
    """A multi-index model: ``ŷ = student((r_1..r_m))``, ``y = teacher((s_1..s_m*))``, each a sympy
    expression (scalar output) or a list/Matrix (one value per output).

    loss : ``"square"`` — ``f = ½‖ŷ − y − ε‖²`` with i.i.d. additive noise ε per output — or a callable
        ``(yhat, y) -> sympy expression`` (scalars for a scalar output, lists otherwise; label noise must
        then be none).
    m, m_star : widths; by default the smallest tuple length the callable accepts.
    Example: ``multi_index(lambda r: relu_fn(r[0]) + relu_fn(r[1]), lambda s: relu_fn(s[0]))``.
    """
    if not callable(student):
        raise ValueError(f"student must be a callable (tuple of sympy symbols -> sympy expression), got "
                         f"{type(student).__name__}")
    if not callable(teacher):
        raise ValueError(f"teacher must be a callable (tuple of sympy symbols -> sympy expression), got "
                         f"{type(teacher).__name__}")
    if not (loss == "square" or callable(loss)):
        raise ValueError(f"loss must be 'square' or a callable (yhat, y) -> sympy expression, got {loss!r}")
    m = _width("student", student, m)
    m_star = _width("teacher", teacher, m_star)
    r = _symbols(m, m_star)
    yhat = _call("student", student, m, r[:m])
    y = _call("teacher", teacher, m_star, r[m:])
    if len(yhat) != len(y):
        raise ValueError(f"teacher must return as many outputs as the student ({len(yhat)}), got {len(y)}")
    n_out = len(yhat)
    label = name or f"multi_index(m={m}, m*={m_star}, outputs={n_out})"
    if loss == "square":
        eps = _eps_symbols(n_out)
        f = sum((a - b - e) ** 2 for a, b, e in zip(yhat, y, eps)) / 2
        return _build(label, m, m_star, f, r, eps)
    args = (yhat[0], y[0]) if n_out == 1 else (list(yhat), list(y))
    try:
        f = sp.sympify(loss(*args))
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"loss: calling the loss callable on (yhat, y) failed: {exc}") from None
    if not isinstance(f, sp.Expr) or not f.free_symbols <= set(r):
        raise ValueError(f"loss must return a sympy expression of (yhat, y), got {f}")
    return _build(label, m, m_star, f, r, (), loss_kind="custom")
