"""The least-squares family on the command line: its problems (``--problem power-law``, ``isotropic``)
and optimizers (``--optimizer sgd``, ``precond``, ``sign``, ``adam``, ``clipped``, ``normalized``),
registered in :mod:`hdlimits.cli.registry`.

Problems: :class:`hdlimits.models.least_squares.problem.Problem` (docs/conventions.md). Clipped SGD:
Marshall, Xiao, Agarwala, Paquette, *To clip or not to clip*, arXiv 2406.11733 (docs/clipping.md);
signSGD: Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135 (docs/signsgd.md).
"""
from __future__ import annotations

from hdlimits.cli.registry import register_optimizer, register_problem

__all__ = []


# ------------------------------------------------------------------------------------ problems

def _build_power_law(args, noise):
    from hdlimits.models.least_squares.problem import Problem
    return Problem.power_law(args.d, 1.0 if args.alpha is None else args.alpha,
                             1.0 if args.beta is None else args.beta, noise=noise,
                             initial_size=args.initial_size, seed=args.problem_seed,
                             rotate=bool(args.rotate))


def _add_power_law_arguments(group):
    group.add_argument("--alpha", type=float, default=None,
                       help="spectral decay exponent of the power-law problem (default 1.0)")
    group.add_argument("--beta", type=float, default=None,
                       help="decay exponent of the initial error of the power-law problem (default 1.0)")
    group.add_argument("--rotate", action="store_true", default=None,
                       help="power-law problem in a Haar-random eigenbasis (dense K; costs O(d²) memory "
                            "and O(d²) work per step in the simulation)")


def _build_isotropic(args, noise):
    from hdlimits.models.least_squares.problem import Problem
    return Problem.isotropic(args.d, noise=noise, initial_size=args.initial_size, seed=args.problem_seed)


register_problem("power-law", _build_power_law, _add_power_law_arguments,
                 options=("alpha", "beta", "rotate"),
                 help="eigenvalues λ_j ∝ j^-alpha normalised to tr K = d, initial error projections "
                      "⟨u_j, e_0⟩² ∝ j^-beta")
register_problem("isotropic", _build_isotropic, help="K = I, e_0 a random direction")


# ------------------------------------------------------------------------------------ optimizers

def _build_sgd(args, lr):
    from hdlimits.optimizers import SGD
    return SGD(lr=lr, batch=args.batch)


def _build_precond(args, lr):
    from hdlimits.optimizers import PreconditionedSGD
    return PreconditionedSGD(lr, preconditioner=args.preconditioner or "diag", batch=args.batch)


def _add_precond_arguments(group):
    group.add_argument(
        "--preconditioner", choices=["diag", "sqrt", "whiten"], default=None,
        help="fixed preconditioner P of --optimizer precond (u = P·g): diag = diag(K)^-1, "
             "sqrt = K^-1/2, whiten = K^-1 (default: diag)")


def _build_sign(args, lr):
    from hdlimits.optimizers import SignSGD
    return SignSGD(lr, batch=args.batch)


def _build_adam(args, lr):
    from hdlimits.optimizers import Adam
    return Adam(lr, beta1=0.9 if args.beta1 is None else args.beta1,
                beta2=0.999 if args.beta2 is None else args.beta2,
                eps=1e-8 if args.adam_eps is None else args.adam_eps, batch=args.batch)


def _add_adam_arguments(group):
    group.add_argument("--beta1", type=float, default=None, help="Adam β1 in [0, 1) (default 0.9)")
    group.add_argument("--beta2", type=float, default=None, help="Adam β2 in [0, 1) (default 0.999)")
    group.add_argument("--adam-eps", type=float, default=None, help="Adam ε ≥ 0 (default 1e-8)")


def _build_clipped(args, lr):
    from hdlimits.optimizers import ClippedSGD
    from hdlimits.optimizers.clipped import risk_adaptive
    if (args.clip is None) == (args.clip_kappa is None):
        raise ValueError("--optimizer clipped needs exactly one of --clip (gradient-norm threshold C > 0) "
                         "and --clip-kappa (risk-adaptive residual threshold κ√(eᵀKe + E ε²), κ > 0)")
    clip = args.clip if args.clip is not None else risk_adaptive(args.clip_kappa)
    return ClippedSGD(lr, clip=clip, batch=args.batch)


def _add_clipped_arguments(group):
    group.add_argument("--clip", type=float, default=None, metavar="C",
                       help="clipped: threshold C > 0 on the gradient norm ‖g‖₂ (as clip_grad_norm_); "
                            "the limit sees the residual threshold C/√tr K")
    group.add_argument("--clip-kappa", type=float, default=None, metavar="KAPPA",
                       help="clipped: risk-adaptive residual threshold κ·√(eᵀKe + E ε²), κ > 0")


def _build_normalized(args, lr):
    from hdlimits.optimizers import NormalizedSGD
    return NormalizedSGD(lr, batch=args.batch)


register_optimizer("sgd", _build_sgd, help="minibatch SGD, u = g")
register_optimizer("precond", _build_precond, _add_precond_arguments, options=("preconditioner",),
                   help="SGD with a fixed preconditioner, u = P·g (see --preconditioner)")
register_optimizer("sign", _build_sign, help="signSGD, u = sign(g) (limit: batch 1)")
register_optimizer("adam", _build_adam, _add_adam_arguments, options=("beta1", "beta2", "adam_eps"),
                   help="Adam (simulated exactly; limit = the β2 → 1 conjecture, biased at β2 < 1)")
register_optimizer("clipped", _build_clipped, _add_clipped_arguments, options=("clip", "clip_kappa"),
                   help="clipped SGD, u = g·min(1, C/‖g‖) (--clip C or --clip-kappa; batch 1)")
register_optimizer("normalized", _build_normalized, help="normalized SGD, u = g/‖g‖ (batch 1)")
