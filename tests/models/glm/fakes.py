"""A small stand-in for the GLM model protocol (docs/glm.md): the linear model with a fixed head ``F``,
prediction ``Fᵀ r_student``, label ``r_teacher + ε`` and loss ``f = ½(Fᵀr_s − r_* − ε)²``, so that
``ψ = F (uᵀr − ε)`` with ``u = (F, −1)``. ``F = (1,)`` is least squares (``ψ = r_1 − r_2 − ε``).

Closed forms (r ~ N(0, B), ε independent): ``h = ½(uᵀBu + E ε²)``, ``J = u Fᵀ`` in the first m columns,
``I = (uᵀBu + E ε²) F Fᵀ`` in the top-left block, ``C[a,b,c,e] = 2 u_a u_b F_c F_e``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

HEAD2 = np.array([1.0, 0.5])          # the head of the m = 2 model


@nb.njit(cache=True, nogil=True)
def psi_least_squares(r, xi, psi_out):
    res = r[0] - r[1] - xi[0]
    psi_out[0] = res
    return 0.5 * res * res


@nb.njit(cache=True, nogil=True)
def psi_head2(r, xi, psi_out):
    res = HEAD2[0] * r[0] + HEAD2[1] * r[1] - r[2] - xi[0]
    psi_out[0] = HEAD2[0] * res
    psi_out[1] = HEAD2[1] * res
    return 0.5 * res * res


class FakeExpectations:
    kind = "closed form"
    check_error = 0.0

    def __init__(self, head, m2):
        self.F = np.asarray(head, dtype=np.float64)
        self.u = np.concatenate([self.F, [-1.0]])
        self.m2 = float(m2)

    def latex(self):
        return r"h = \tfrac12(u^\top B u + E\varepsilon^2)"

    def evaluate(self, B):
        B = np.asarray(B, dtype=np.float64)
        q = float(self.u @ B @ self.u) + self.m2
        m, k = self.F.size, self.u.size
        J = np.zeros((k, k))
        J[:, :m] = np.outer(self.u, self.F)
        I = np.zeros((k, k))
        I[:m, :m] = q * np.outer(self.F, self.F)
        return 0.5 * q, J, I

    def risk(self, B):
        return self.evaluate(B)[0]

    def curvature(self, B):
        k, m = self.u.size, self.F.size
        Ft = np.zeros(k)
        Ft[:m] = self.F
        return 2.0 * np.einsum("a,b,c,e->abce", self.u, self.u, Ft, Ft)


@dataclass(frozen=True)
class FakeLinearModel:
    """The protocol's fields for a linear student with head F (m = len(F)) and one teacher."""

    name: str
    m: int
    sample_psi: object
    head: tuple
    m_star: int = 1
    n_xi: int = 1
    labels: str = "additive"
    smooth: bool = True

    @property
    def k(self):
        return self.m + self.m_star

    def check_noise(self, noise):
        return None

    def draw_xi(self, noise, rng, n):
        return np.asarray(noise.sample(rng, n), dtype=np.float64).reshape(n, 1)

    def expectations(self, noise, check=True):
        return FakeExpectations(self.head, noise.second_moment)


def least_squares():
    return FakeLinearModel("fake least squares", 1, psi_least_squares, (1.0,))


def head2():
    return FakeLinearModel("fake linear head (1, 0.5)", 2, psi_head2, tuple(HEAD2))
