"""Sharpness dynamics on finite datasets: the linear (constant-NTK) model under minibatch SGD and
quadratic-in-parameters models (docs/sharpness.md).

Conventions (docs/conventions.md §9): D data points, parameters θ ∈ R^P, residual z = f(θ) − y, sum
loss L = ½‖z‖², NTK Θ = JJᵀ. Here ``lr`` is the step η itself (θ ← θ − η Jᵀ P̃ z), not the streaming
γ/d, and time is the step count. Results: :mod:`hdlimits.models.sharpness.results`.
"""
