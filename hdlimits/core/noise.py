"""Label-noise laws ε (``y = ⟨x, θ*⟩ + ε``).

Each law carries a sampler (``numpy.random.Generator``), a symbolic density in a sympy symbol (so the
derivation engine can take expectations over it; discrete laws use ``DiracDelta``), and its moments.
The quantity SGD sees is the second moment ``E[ε²]`` (the variance plus the squared mean; see
docs/conventions.md §2, §7); it is ``inf`` for laws without one, e.g.
Student-t with ``df ≤ 2``.

Use the factories: :func:`gaussian`, :func:`rademacher`, :func:`student_t`, :func:`laplace`,
:func:`uniform`, :func:`gaussian_mixture`, :func:`none`; :func:`parse` reads the CLI form
``"student_t:df=3,scale=0.5"``.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from hdlimits.core import validation as v

__all__ = ["NoiseLaw", "LAWS", "gaussian", "rademacher", "student_t", "laplace", "uniform",
           "gaussian_mixture", "none", "parse"]


@dataclass(frozen=True)
class NoiseLaw:
    """Base class. Subclasses are frozen dataclasses whose fields are the law's parameters."""

    #: short name used by the CLI and in reports
    name = "noise"

    # -- to be provided by subclasses -------------------------------------------------------
    def sample(self, rng: np.random.Generator, size) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def density(self, eps: sp.Symbol) -> sp.Expr:  # pragma: no cover
        raise NotImplementedError

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def second_moment(self) -> float:  # pragma: no cover
        """``E[ε²]`` (``inf`` when it does not exist)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    @property
    def std(self) -> float:
        """Standard deviation (``inf`` when the variance does not exist)."""
        m2 = self.second_moment
        return math.sqrt(max(m2 - self.mean ** 2, 0.0)) if math.isfinite(m2) else math.inf

    @property
    def is_discrete(self) -> bool:
        return False

    def atoms(self) -> list[tuple[float, float]]:
        """For discrete laws: ``[(value, probability), ...]``."""
        raise TypeError(f"{self.name} is not a discrete law")

    def expect(self, expr: sp.Expr, eps: sp.Symbol) -> sp.Expr:
        """Symbolic ``E[expr(ε)]``: a finite sum for discrete laws, an integral otherwise."""
        if self.is_discrete:
            return sp.Add(*[sp.nsimplify(p) * expr.subs(eps, sp.nsimplify(a)) for a, p in self.atoms()])
        return sp.integrate(expr * self.density(eps), (eps, -sp.oo, sp.oo))

    def params(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def spec(self) -> str:
        """The CLI form of this law, e.g. ``student_t:df=3.0,scale=0.5``."""
        def fmt(x):
            return ";".join(map(repr, x)) if isinstance(x, tuple) else repr(x)
        items = ",".join(f"{k}={fmt(x)}" for k, x in self.params().items())
        return f"{self.name}:{items}" if items else self.name

    def __str__(self) -> str:
        return self.spec()


@dataclass(frozen=True)
class Gaussian(NoiseLaw):
    std_: float
    name = "gaussian"

    def sample(self, rng, size):
        return self.std_ * rng.standard_normal(size)

    def density(self, eps):
        s = sp.nsimplify(self.std_)
        if self.std_ == 0:
            return sp.DiracDelta(eps)
        return sp.exp(-eps ** 2 / (2 * s ** 2)) / (s * sp.sqrt(2 * sp.pi))

    @property
    def second_moment(self):
        return self.std_ ** 2

    def params(self):
        return {"std": self.std_}

    @property
    def is_discrete(self):
        return self.std_ == 0

    def atoms(self):
        if self.std_ != 0:
            return super().atoms()
        return [(0.0, 1.0)]


@dataclass(frozen=True)
class Rademacher(NoiseLaw):
    std_: float
    name = "rademacher"

    def sample(self, rng, size):
        return self.std_ * (2.0 * rng.integers(0, 2, size) - 1.0)

    def density(self, eps):
        s = sp.nsimplify(self.std_)
        return (sp.DiracDelta(eps - s) + sp.DiracDelta(eps + s)) / 2

    @property
    def second_moment(self):
        return self.std_ ** 2

    def params(self):
        return {"std": self.std_}

    @property
    def is_discrete(self):
        return True

    def atoms(self):
        if self.std_ == 0:
            return [(0.0, 1.0)]
        return [(self.std_, 0.5), (-self.std_, 0.5)]


@dataclass(frozen=True)
class StudentT(NoiseLaw):
    df: float
    scale: float
    name = "student_t"

    def sample(self, rng, size):
        return self.scale * rng.standard_t(self.df, size)

    def density(self, eps):
        nu, s = sp.nsimplify(self.df), sp.nsimplify(self.scale)
        c = sp.gamma((nu + 1) / 2) / (sp.sqrt(nu * sp.pi) * sp.gamma(nu / 2) * s)
        return c * (1 + (eps / s) ** 2 / nu) ** (-(nu + 1) / 2)

    @property
    def mean(self):
        return 0.0 if self.df > 1 else math.nan

    @property
    def second_moment(self):
        return self.scale ** 2 * self.df / (self.df - 2) if self.df > 2 else math.inf


@dataclass(frozen=True)
class Laplace(NoiseLaw):
    scale: float
    name = "laplace"

    def sample(self, rng, size):
        return rng.laplace(0.0, self.scale, size)

    def density(self, eps):
        b = sp.nsimplify(self.scale)
        return sp.exp(-sp.Abs(eps) / b) / (2 * b)

    def expect(self, expr, eps):
        # split at 0 so sympy integrates two smooth pieces
        b = sp.nsimplify(self.scale)
        f = sp.exp(-eps / b) / (2 * b)
        return (sp.integrate(expr * f, (eps, 0, sp.oo))
                + sp.integrate(expr.subs(eps, -eps) * f, (eps, 0, sp.oo)))

    @property
    def second_moment(self):
        return 2.0 * self.scale ** 2


@dataclass(frozen=True)
class Uniform(NoiseLaw):
    half_width: float
    name = "uniform"

    def sample(self, rng, size):
        return rng.uniform(-self.half_width, self.half_width, size)

    def density(self, eps):
        a = sp.nsimplify(self.half_width)
        return sp.Piecewise((1 / (2 * a), sp.And(eps >= -a, eps <= a)), (0, True))

    def expect(self, expr, eps):
        a = sp.nsimplify(self.half_width)
        return sp.integrate(expr / (2 * a), (eps, -a, a))

    @property
    def second_moment(self):
        return self.half_width ** 2 / 3.0


@dataclass(frozen=True)
class GaussianMixture(NoiseLaw):
    weights: tuple
    means: tuple
    stds: tuple
    name = "gaussian_mixture"

    def sample(self, rng, size):
        n = int(np.prod(size))
        comp = rng.choice(len(self.weights), size=n, p=np.asarray(self.weights))
        out = np.asarray(self.means)[comp] + np.asarray(self.stds)[comp] * rng.standard_normal(n)
        return out.reshape(size)

    def density(self, eps):
        terms = []
        for w, m, s in zip(self.weights, self.means, self.stds):
            w, m = sp.nsimplify(w), sp.nsimplify(m)
            if s == 0:
                terms.append(w * sp.DiracDelta(eps - m))
            else:
                s = sp.nsimplify(s)
                terms.append(w * sp.exp(-(eps - m) ** 2 / (2 * s ** 2)) / (s * sp.sqrt(2 * sp.pi)))
        return sp.Add(*terms)

    def expect(self, expr, eps):
        out = []
        for w, m, s in zip(self.weights, self.means, self.stds):
            law = Gaussian(s)
            out.append(sp.nsimplify(w) * law.expect(expr.subs(eps, eps + sp.nsimplify(m)), eps))
        return sp.Add(*out)

    @property
    def mean(self):
        return float(np.dot(self.weights, self.means))

    @property
    def second_moment(self):
        w, m, s = (np.asarray(a, dtype=float) for a in (self.weights, self.means, self.stds))
        return float(np.sum(w * (m ** 2 + s ** 2)))


@dataclass(frozen=True)
class NoNoise(NoiseLaw):
    name = "none"

    def sample(self, rng, size):
        return np.zeros(size)

    def density(self, eps):
        return sp.DiracDelta(eps)

    @property
    def second_moment(self):
        return 0.0

    @property
    def is_discrete(self):
        return True

    def atoms(self):
        return [(0.0, 1.0)]


# --------------------------------------------------------------------------------------------
# factories (the public names)

def gaussian(std: float) -> NoiseLaw:
    """ε ~ N(0, std²). ``std = 0`` means no noise."""
    return Gaussian(v.nonnegative("std", std))


def rademacher(std: float) -> NoiseLaw:
    """ε = ±std with probability ½ each (variance std²)."""
    return Rademacher(v.nonnegative("std", std))


def student_t(df: float, scale: float = 1.0) -> NoiseLaw:
    """ε = scale·T with T Student-t with ``df`` degrees of freedom.

    std = scale·√(df/(df−2)) for df > 2; the variance is infinite for df ≤ 2 (SGD's limit then does not
    exist; clipped SGD and signSGD tolerate it). df = 1 is the Cauchy law.
    """
    return StudentT(v.positive("df", df), v.positive("scale", scale))


def laplace(scale: float) -> NoiseLaw:
    """ε with density exp(−|ε|/scale)/(2·scale) (variance 2·scale²)."""
    return Laplace(v.positive("scale", scale))


def uniform(half_width: float) -> NoiseLaw:
    """ε uniform on [−half_width, half_width] (variance half_width²/3)."""
    return Uniform(v.positive("half_width", half_width))


def gaussian_mixture(weights, means, stds) -> NoiseLaw:
    """ε from the mixture Σ_k weights[k]·N(means[k], stds[k]²). Weights must sum to 1.

    A non-zero mean is allowed; SGD then sees the second moment E[ε²] = Σ w (m² + s²).
    """
    w = v.vector("weights", weights, nonnegative=True)
    m = v.vector("means", means, size=w.size, size_name="the number of components, len(weights)")
    s = v.vector("stds", stds, size=w.size, nonnegative=True,
                 size_name="the number of components, len(weights)")
    if abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"weights must sum to 1 (range: a probability vector), got sum {float(w.sum()):g}")
    return GaussianMixture(tuple(map(float, w)), tuple(map(float, m)), tuple(map(float, s)))


def none() -> NoiseLaw:
    """No label noise, ε = 0."""
    return NoNoise()


#: law name → factory (the names a spec may use)
LAWS = {"gaussian": gaussian, "rademacher": rademacher, "student_t": student_t,
        "laplace": laplace, "uniform": uniform, "gaussian_mixture": gaussian_mixture, "none": none}


def _real(text, law, key, option):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}: {law}: {key} must be a real number, got {text.strip()!r}") from None
    if math.isnan(value):
        raise ValueError(f"{option}: {law}: {key} must be a real number, got {text.strip()!r}")
    return value


def parse(spec: str, option: str = "noise") -> NoiseLaw:
    """The law of a spec ``"name"`` or ``"name:key=value,key=value"`` (tuple values ``;``-separated).

    Examples: ``gaussian:std=0.3``, ``student_t:df=3,scale=0.5`` (``student-t`` also reads), ``none``,
    ``gaussian_mixture:weights=0.9;0.1,means=0;0,stds=0.1;3``. Strict: an unknown law or key, a key
    given twice or missing, or a value that is not a number raises ValueError naming ``option`` (e.g.
    ``--noise`` on the command line), the law and the key.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{option}: expected a spec like 'gaussian:std=0.3', got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip().replace("-", "_")
    if name not in LAWS:
        raise ValueError(f"{option}: noise law must be one of {', '.join(sorted(LAWS))}; got {name!r}")
    factory = LAWS[name]
    params = inspect.signature(factory).parameters
    required = [p for p, par in params.items() if par.default is inspect.Parameter.empty]
    tuple_valued = name == "gaussian_mixture"
    kwargs = {}
    for item in (x.strip() for x in rest.split(",")):
        if not item:
            continue
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"{option}: {name}: parameter {item!r} must be written key=value")
        if key not in params:
            allowed = ", ".join(params) if params else "none (write just the law name)"
            raise ValueError(f"{option}: {name}: unknown parameter {key!r}; allowed: {allowed}")
        if key in kwargs:
            raise ValueError(f"{option}: {name}: {key} is given twice")
        vals = [_real(x, name, key, option) for x in val.split(";")]
        if len(vals) > 1 and not tuple_valued:
            raise ValueError(f"{option}: {name}: {key} must be one real number, got {val.strip()!r}")
        kwargs[key] = vals if tuple_valued else vals[0]
    missing = [p for p in required if p not in kwargs]
    if missing:
        raise ValueError(f"{option}: {name}: missing {', '.join(missing)} (e.g. "
                         f"{name}:{','.join(f'{p}=1' for p in missing)})")
    try:
        return factory(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{option}: {name}: {exc}") from None
