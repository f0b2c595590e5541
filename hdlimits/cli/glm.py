"""GLM and single-index models on the command line (docs/glm.md): ``--model relu|logistic|phase-retrieval|
least-squares-glm`` turns the chosen ``--problem`` into a teacher–student problem.

The problem's spectrum is kept and its initial error becomes the teacher: with ``θ_0 = 0`` the
least-squares problem has ``θ* = −e_0``, so the teacher is ``x* = −e_0`` (``x*ᵀKx* = --initial-size``).
The student starts at ``X_0 = ρ·x* + g`` with ``ρ = --student-overlap`` and ``g`` a random vector with
``gᵀKg = --student-size`` (from ``--problem-seed``). A ReLU student needs a non-zero start (at 0 its
gradient vanishes); phase retrieval needs a macroscopic overlap ρ (its escape from a random start takes
O(log d) time, outside this limit).
"""
from __future__ import annotations

import numpy as np

from hdlimits.cli import registry

__all__ = ["MODELS", "glm_problem"]

#: --model choices → factory name in hdlimits.models
MODELS = {"relu": "relu", "logistic": "logistic", "phase-retrieval": "phase_retrieval",
          "least-squares-glm": "least_squares"}


def _add_model_arguments(group):
    group.add_argument("--model", choices=sorted(MODELS), default=None,
                       help="teacher–student model (GLM family, docs/glm.md); default: streaming least "
                            "squares on the scalar path. The problem's e_0 becomes the teacher x* = −e_0")
    group.add_argument("--student-overlap", type=float, default=None,
                       help="--model: the student starts at ρ·x* + g with this ρ (default 0)")
    group.add_argument("--student-size", type=float, default=None,
                       help="--model: gᵀKg of the random part g of the student's start (default 0; "
                            "relu needs a non-zero start)")


def glm_problem(args, prob):
    """The GLM problem of ``--model`` built on the least-squares problem ``prob`` (or ``prob`` itself)."""
    name = getattr(args, "model", None)
    rho = getattr(args, "student_overlap", None)
    size = getattr(args, "student_size", None)
    if name is None:
        if rho is not None or size is not None:
            raise ValueError("--student-overlap and --student-size apply only with --model")
        return prob
    from hdlimits import models
    from hdlimits.core import validation as v
    from hdlimits.models.glm.problem import GLMProblem
    rho = 0.0 if rho is None else v.real("--student-overlap", rho)
    size = 0.0 if size is None else v.nonnegative("--student-size", size)
    model = getattr(models, MODELS[name])()
    teacher = -np.asarray(prob.initial_error, dtype=np.float64)
    x0 = rho * teacher
    if size > 0:
        rng = np.random.default_rng([int(args.problem_seed), 1])
        g = rng.standard_normal(prob.d)
        g *= np.sqrt(size / float(prob.excess_of(g)))
        x0 = x0 + g
    return GLMProblem.from_spectrum(prob.eigenvalues, teacher, x0, model, prob.noise, prob.basis,
                                    f"{name}, {prob.label}")


registry.PROBLEM_ARGUMENTS.append(_add_model_arguments)
