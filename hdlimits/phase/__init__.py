"""Built-in phase diagrams: sweeps of the limiting equations drawn with their theoretical boundaries.

Each function runs a :func:`hdlimits.sweeps.sweep`, writes a PNG (matplotlib, Agg canvas) and the data
(``.npz`` + ``.csv`` + ``.json``, reloadable with :meth:`hdlimits.sweeps.SweepResult.load`) under
``out`` (a path stem; ``None`` writes nothing), and returns a :class:`PhaseResult`. Each diagram's module
also has ``compute(...)`` (the data, same arguments without ``out``) and ``draw(result)`` (the figure).

Conventions (docs/conventions.md): step ``γ/d`` with minibatch ``B``, time ``t = steps/d``, risk
``½(eᵀKe + E ε²)``. Default problems use ``Problem.power_law`` (``tr K = d``, mean eigenvalue 1) of the
dimension :data:`DEFAULT_D` ``[name]``.

* :func:`sgd_stability` (:mod:`~hdlimits.phase.stability`) — learning rate × batch size → converges /
  diverges, with the d → ∞ boundary ``γ tr K/(2dB) = 1``, the finite-d boundary and the deterministic
  limit, which sets the critical batch size ``B_crit = tr K/λ_max`` (Lee, Cheng, Paquette, Paquette
  2022; docs/sgd.md).
* :func:`lr_time` (:mod:`~hdlimits.phase.lr_landscape`) — learning rate × time → risk heatmap for a
  schedule family, with the critical learning rates and the best learning rate at each time.
* :func:`clipping` (:mod:`~hdlimits.phase.clip_vs_sgd`) — clip threshold × noise tail → best clipped /
  best SGD excess risk, with the CCC = 1 contour (Marshall, Xiao, Agarwala, Paquette 2024, arXiv
  2406.11733; docs/clipping.md).
* :func:`sign_vs_sgd` (:mod:`~hdlimits.phase.sign_speed`) — spectrum condition number × noise tail →
  time-to-target ratio signSGD / SGD, each at its best learning rate (Xiao, Marshall, Agarwala,
  Paquette, arXiv 2411.12135; docs/signsgd.md).

* :func:`stochastic_eos` (:mod:`~hdlimits.phase.stochastic_eos`) — step η × batch size on the linear
  (constant-NTK) sharpness model, simulated at small D, with the stochastic edge 𝒦 = 1, the EOS
  ηλ_max = 2 and the critical batch B_c (Agarwala & Pennington, arXiv 2404.19261; docs/sharpness.md).
  There ``lr`` is the step η itself and time is the step count; ``d`` is the number of data points D.

* :func:`sam_edge` (:mod:`~hdlimits.phase.sam_edge`) — step η × SAM radius ρ → final λ_max / λ_SAM on
  the single-output second-order model (Agarwala & Dauphin, arXiv 2302.08692), and :func:`eos`
  (:mod:`~hdlimits.phase.eos`) — step η → final ηλ_max of GD with the gradient-flow value (Agarwala,
  Pedregosa, Pennington, arXiv 2210.04860); docs/sharpness_second_order.md.

:func:`scaling_law` (:mod:`~hdlimits.phase.scaling_law`) — the (α, β) plane of power-law random
features → fitted compute-optimal exponent ξ of ``d* ∝ f^ξ``, with the phases and the heuristic ξ
(Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074; docs/phase_scaling_law.md). Its ``d`` is the
set of model sizes of the fits (default None: those of :func:`hdlimits.scaling.compute_optimal`).

The modules are not named after the functions, so that ``hdlimits.phase.clipping`` is always the
function.
"""
from hdlimits.phase import clip_vs_sgd, lr_landscape, sign_speed, stability, stochastic_eos as _seos
from hdlimits.phase.clip_vs_sgd import clipping
from hdlimits.phase.common import PhaseResult
from hdlimits.phase.lr_landscape import lr_time
from hdlimits.phase.sign_speed import sign_vs_sgd
from hdlimits.phase.stability import sgd_stability
from hdlimits.phase.stochastic_eos import stochastic_eos
from hdlimits.phase import sam_edge as _sam_edge_mod, eos as _eos_mod
from hdlimits.phase.sam_edge import sam_edge
from hdlimits.phase.eos import eos
from hdlimits.phase import scaling_law as _scaling_law_mod
from hdlimits.phase.scaling_law import scaling_law

__all__ = ["PhaseResult", "sgd_stability", "lr_time", "clipping", "sign_vs_sgd", "stochastic_eos", "sam_edge", "eos", "scaling_law", "NAMES",
           "DEFAULT_D"]

#: phase diagrams by CLI name
NAMES = {"sgd-stability": sgd_stability, "lr-time": lr_time, "clipping": clipping,
         "sign-vs-sgd": sign_vs_sgd, "stochastic-eos": stochastic_eos, "sam-edge": sam_edge, "eos": eos,
         "scaling-law": scaling_law}

#: dimension d of each diagram's default problem, by CLI name (the default of its ``d`` argument)
DEFAULT_D = {"sgd-stability": stability.DEFAULT_D, "lr-time": lr_landscape.DEFAULT_D,
             "clipping": clip_vs_sgd.DEFAULT_D, "sign-vs-sgd": sign_speed.DEFAULT_D, "stochastic-eos": _seos.DEFAULT_D,
             "sam-edge": _sam_edge_mod.DEFAULT_D, "eos": _eos_mod.DEFAULT_D,
             "scaling-law": _scaling_law_mod.DEFAULT_D}   # None: compute_optimal's model sizes
