"""``derive``: the limiting coefficients ``a(P) = E[h'(r)]``, ``b(P) = E[h(r)²]`` of an update ``x·h(r)``.

Setting (docs/conventions.md): streaming least squares, Gaussian data, residual ``r = ⟨x, θ⟩ − y = s − ε`` with
``s = ⟨x, e⟩ ~ N(0, P)``, ``P = eᵀKe``. For ``u = x·h(r)`` Stein's lemma gives ``E[u] = K e·E[h'(r)]``
(``h'`` in the distributional sense: a kink or a jump of ``h`` is handled by computing
``E[(r − m) h(r)]/v`` on each Gaussian piece ``r ~ N(m, v)``) and, at leading order,
``E[u uᵀ] = K·E[h(r)²]``; the master recipe of docs/derivation.md §2 then gives the mode
system of :mod:`hdlimits.solvers.modes` with ``a = E[h']``, ``b = E[h²]``, ``w_i = κ_i``.

Clipped SGD (Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip", arXiv 2406.11733) is
``h(r) = clamp(r, −c, c)`` with the residual threshold ``c``; normalized SGD is ``h(r) = sign(r)/√T`` with
``T = tr K``; SGD is ``h(r) = r`` (``a = 1``, ``b = P + E ε²``).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import sympy as sp

from hdlimits.derivation import codegen as codegen
from hdlimits.derivation.expect import NoiseExpectation, expect_residual, node_family, rebind
from hdlimits.derivation.rules import nonlinearity_of

__all__ = ["r", "P", "c", "T", "kappa", "m2", "Derived", "derive", "nonlinearity_of"]

#: the symbols of the engine
r = sp.Symbol("r", real=True)
P = sp.Symbol("P", positive=True)
c = sp.Symbol("c", positive=True)        # residual clipping threshold
T = sp.Symbol("T", positive=True)        # tr K
kappa = sp.Symbol("kappa", positive=True)  # risk-adaptive threshold factor
m2 = sp.Symbol("M2", nonnegative=True)   # E ε²

_CACHE: dict = {}

#: bump when the engine's results change (invalidates the on-disk derivation cache)
ENGINE_VERSION = "2"   # 2: Student-t mixing step follows √(2/ν)


@dataclass(eq=False)
class Derived:
    """Result of :func:`derive`.

    a, b : sympy expressions in ``P`` (and the optimizer's symbols, e.g. the threshold ``c``); for
        quadrature, unevaluated integrals over the noise's mixing law.
    kind : ``"closed form"`` if both are closed forms, else ``"quadrature"``.
    a_func, b_func : numba ``f(P, params)`` (one shared parameter array, :meth:`params`).
    from_cache : True when this result was read from the on-disk derivation cache (no sympy work).
    """

    h: object
    noise: object
    ea: NoiseExpectation
    eb: NoiseExpectation
    extra: dict
    from_cache: bool = False

    @property
    def a(self):
        return self.ea.display

    @property
    def b(self):
        return self.eb.display

    @property
    def kind(self) -> str:
        return "closed form" if self.ea.kind == self.eb.kind == "closed form" else "quadrature"

    def latex(self) -> str:
        return (f"a(P) = {sp.latex(self.a)}\\\\\n" f"b(P) = {sp.latex(self.b)}")

    def compiled(self, values: dict | None = None, adaptive: bool = False):
        """``(a_func, b_func, params)`` with the optimizer's symbols set to ``values``.

        ``adaptive=True`` replaces the threshold ``c`` by ``κ·√(P + M2)`` (the risk-adaptive threshold);
        ``values`` must then give ``kappa`` and ``M2`` instead of ``c``.
        """
        # one compilation per derivation of a family (rebound laws share their owner's functions); the
        # capacity of a's node block fixes the offset of b's block, so it is part of the key
        key = (id(getattr(self, "_owner", self)), adaptive, _capacity(self.ea))
        if key not in _CACHE:
            fa, pa_syms = self._compile(self.ea, 0, adaptive)
            na = len(self._layout(self.ea, pa_syms, {s: 0.0 for s in pa_syms}))
            fb, pb_syms = self._compile(self.eb, na, adaptive)
            _CACHE[key] = (fa, fb, pa_syms, pb_syms)
        fa, fb, pa_syms, pb_syms = _CACHE[key]
        vals = {s: float(v) for s, v in self.extra.items()}
        vals.update({s: float(v) for s, v in (values or {}).items()})
        params = np.concatenate([self._layout(self.ea, pa_syms, vals),
                                 self._layout(self.eb, pb_syms, vals)])
        return fa, fb, params

    def parameter_slots(self, symbol) -> tuple:
        """The indices of the ``params`` array of :meth:`compiled` that hold ``symbol``'s value (e.g. the
        clipping threshold, which a schedule then refreshes over time)."""
        _, _, p1 = self.compiled({symbol: 1.0})
        _, _, p2 = self.compiled({symbol: 2.0})
        slots = tuple(int(i) for i in np.flatnonzero(p1 != p2))
        if not slots:
            raise ValueError(f"{symbol} is not a parameter of this derivation")
        return slots

    # -- internals ---------------------------------------------------------------------------
    def _extra_syms(self, adaptive):
        syms = []
        for s in self.extra:
            syms += [kappa, m2] if (adaptive and s == c) else [s]
        return syms

    def _compile(self, e: NoiseExpectation, offset, adaptive):
        n_extra = len(self.extra)
        tmpl = e.template
        syms = list(e.symbols)
        if adaptive:
            tmpl = tmpl.xreplace({c: kappa * sp.sqrt(P + m2)})
        head = self._extra_syms(adaptive)
        rest = syms[n_extra:]
        if e.kind == "closed form":
            return codegen.compile_scalar(tmpl, P, head + rest, offset), head + rest
        u = rest[-1]
        return codegen.compile_mixture(tmpl, P, head + rest[:-1], u, offset), head + rest[:-1]

    def _layout(self, e: NoiseExpectation, syms, vals):
        n_extra = len(self.extra)
        head = [vals.get(s, np.nan) for s in syms[:len(syms) - (len(e.symbols) - n_extra
                                                                 - (0 if e.kind == "closed form" else 1))]]
        body = e.params[n_extra:]
        if e.kind != "closed form":
            # [n, W_1..W_n, U_1..U_n] padded to a fixed capacity: the next block's offset (baked into
            # its compiled code) is then the same for every law of the family
            body = np.concatenate([body, np.zeros(2 * (_capacity(e) - int(body[0])))])
        return np.concatenate([np.asarray(head, dtype=np.float64), body])


#: smallest node capacity of a quadrature block (Student-t with df in [2, 1000] needs ≤ 512 nodes)
MIN_CAPACITY = 512


def _capacity(e: NoiseExpectation) -> int:
    """Node capacity of a quadrature expectation's parameter block: ``MIN_CAPACITY`` or the next power of
    two holding its nodes (0 for a closed form)."""
    if e.kind == "closed form":
        return 0
    n = int(e.params[len(e.symbols) - 1])
    cap = MIN_CAPACITY
    while cap < n:
        cap *= 2
    return cap


# -- on-disk cache of derivations ----------------------------------------------------------------

def _disk_key(h, extra, noise, check) -> str:
    """SHA-256 of (update rule, its parameter symbols and defaults, noise law spec, check, versions)."""
    blob = json.dumps({"h": sp.srepr(h), "extra": [[sp.srepr(k), repr(float(v))] for k, v in extra.items()],
                       "noise": noise.spec(), "check": bool(check), "engine": ENGINE_VERSION,
                       "sympy": sp.__version__, "numpy": np.__version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _derivation_path(key: str):
    d = codegen.cache_dir() / "derivations"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{key}.json"


def _srepr(x):
    return None if x is None else sp.srepr(x)


def _parse(s):
    return None if s is None else sp.sympify(s)


def _expectation_record(e: NoiseExpectation) -> dict:
    return {"name": e.name, "expr": _srepr(e.expr), "display": _srepr(e.display), "kind": e.kind,
            "params": [float(x) for x in np.asarray(e.params, dtype=np.float64)],
            "P": _srepr(e.P), "template": _srepr(e.template), "symbols": [sp.srepr(x) for x in e.symbols],
            "check_error": float(e.check_error), "module": codegen.source_file(e.func)}


def _expectation_from(rec: dict) -> NoiseExpectation:
    func = codegen.load_file(rec["module"])
    return NoiseExpectation(name=rec["name"], expr=_parse(rec["expr"]), display=_parse(rec["display"]),
                            kind=rec["kind"], func=func, params=np.array(rec["params"], dtype=np.float64),
                            P=_parse(rec["P"]), template=_parse(rec["template"]),
                            symbols=[_parse(x) for x in rec["symbols"]], check_error=rec["check_error"])


def _save(key, out: Derived):
    rec = {"engine": ENGINE_VERSION, "h": sp.srepr(out.h),
           "extra": [[sp.srepr(k), float(v)] for k, v in out.extra.items()],
           "noise": out.noise.spec(), "a": _expectation_record(out.ea), "b": _expectation_record(out.eb)}
    path = _derivation_path(key)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, path)


def _load_cached(key, noise):
    """The cached derivation, or None when absent, unreadable or stale (its modules gone)."""
    path = _derivation_path(key)
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text())
        if rec.get("engine") != ENGINE_VERSION or rec.get("noise") != noise.spec():
            return None
        extra = {sp.sympify(k): v for k, v in rec["extra"]}
        return Derived(h=sp.sympify(rec["h"]), noise=noise, ea=_expectation_from(rec["a"]),
                       eb=_expectation_from(rec["b"]), extra=extra, from_cache=True)
    except (OSError, ValueError, KeyError, TypeError, SyntaxError, sp.SympifyError):
        return None


_FAST: dict = {}


def _remember(fast_key, out):
    if fast_key is not None:
        _FAST[fast_key] = out
    return out


def derive(optimizer, noise=None, check: bool = True, model=None):
    """With ``model`` (a GLM model of :mod:`hdlimits.models`, e.g. ``hd.models.relu()``): the model's Gaussian
    expectations ``model.expectations(noise, check)`` (h, J, I and the curvature of docs/glm.md §2) for the
    SGD family (SGD, PreconditionedSGD); other optimizers raise LimitNotAvailable.

    Without ``model``: derive the limiting coefficients of ``optimizer`` (or of ``u = x·h(r)`` for a sympy ``h``) under
    the noise law ``noise``; see the module docstring.

    The result is cached in memory per (update rule, noise law) and on disk, in
    ``<cache>/derive/derivations/<hash>.json`` (``<cache>`` = ``$HDLIMITS_CACHE_DIR`` or
    ``~/.cache/hdlimits``): the sympy expressions (``sympy.srepr``), the kind, the parameter arrays and the
    names of the generated modules, keyed by a hash of (update rule, its parameter symbols and defaults,
    noise law spec, ``check``, :data:`ENGINE_VERSION`, sympy and numpy versions). A new process then skips
    the sympy work (``from_cache=True`` on the result). The compiled functions are cached on disk by
    :mod:`hdlimits.derivation.codegen`. With ``check`` each compiled coefficient is compared once (when first
    derived) with adaptive quadrature (relative error ≤ 1e-8, else ``RuntimeError``).
    """
    from hdlimits.core import noise as _noise
    if isinstance(noise, str):
        noise = _noise.parse(noise)
    if model is not None:
        return _derive_glm(optimizer, noise, check, model)
    if noise is None:
        noise = _noise.none()
    # optimizers whose rule h(r) does not depend on the instance (its numbers enter as parameters) are
    # memoised by class, so repeated limits (sweeps, phase diagrams) skip building the sympy rule
    fast = None
    if getattr(type(optimizer), "rule_is_static", False):
        fast = (type(optimizer).__module__, type(optimizer).__qualname__, noise.spec(), check)
        if fast in _FAST:
            return _FAST[fast]
    h, extra = nonlinearity_of(optimizer)
    key = (sp.srepr(h), tuple((str(k), v) for k, v in extra.items()), noise.spec(), check)
    if key in _CACHE:
        return _remember(fast, _CACHE[key])
    fam = node_family(noise)
    if fam is not None and noise != fam[1]:
        # the law's numbers enter only the quadrature nodes: derive (and check) once per family with its
        # reference law, then move the result to this law (new nodes, same compiled functions)
        base = derive(optimizer, fam[1], check)
        if base.ea.kind == base.eb.kind == "quadrature":
            out = Derived(h=base.h, noise=noise, ea=rebind(base.ea, noise), eb=rebind(base.eb, noise),
                          extra=base.extra, from_cache=base.from_cache)
            out._owner = getattr(base, "_owner", base)
            _CACHE[key] = out
            return _remember(fast, out)
    dkey = _disk_key(h, extra, noise, check)
    out = _load_cached(dkey, noise)
    if out is not None:
        _CACHE[key] = out
        return _remember(fast, out)
    ea = expect_residual(h, r, P, noise, stein=True, extra=extra, name="a(P) = E[h'(r)]", check=check)
    eb = expect_residual(h * h, r, P, noise, stein=False, extra=extra, name="b(P) = E[h(r)^2]",
                         check=check)
    out = Derived(h=h, noise=noise, ea=ea, eb=eb, extra=extra)
    _CACHE[key] = out
    _remember(fast, out)
    try:
        _save(dkey, out)
    except OSError:   # a read-only cache directory only costs the next process the derivation
        pass
    return out


def _derive_glm(optimizer, noise, check, model):
    """``model.expectations(noise, check)`` for SGD-family optimizers (docs/glm.md §2)."""
    from hdlimits.core.errors import LimitNotAvailable
    from hdlimits.models.glm.catalog import GLMModel
    from hdlimits.optimizers import SGD, PreconditionedSGD
    if not isinstance(model, GLMModel):
        raise ValueError(f"model must be a GLM model from hdlimits.models (e.g. hd.models.relu()), got "
                         f"{type(model).__name__}")
    if type(optimizer) not in (SGD, PreconditionedSGD):
        raise LimitNotAvailable(f"derive: no GLM limit for {type(optimizer).__name__} with a model; the GLM "
                                "expectations drive SGD and PreconditionedSGD (docs/glm.md §2)")
    return model.expectations(noise, check)
