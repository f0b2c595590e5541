"""hd.norms: dual norms, steepest-descent steps, orthogonalisation (Bernstein & Newhouse, arXiv 2409.20325;
docs/norms.md). Expected values come from independent routes (numpy/scipy norms, the polar decomposition,
explicit objective evaluation), never from the function under test."""
import numpy as np
import pytest
import scipy.linalg

import hdlimits as hd
from hdlimits import norms


def _G(shape=(6, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _primal(X, name):
    """The norm of X computed directly with numpy (not by hd.norms)."""
    if name == "linf":
        return np.abs(X).max()
    if name == "l2":
        return np.sqrt((X ** 2).sum())
    op = np.linalg.norm(X, 2)
    return op if name == "spectral" else np.sqrt(X.shape[1] / X.shape[0]) * op


def _dual(G, name):
    if name == "linf":
        return np.abs(G).sum()
    if name == "l2":
        return np.sqrt((G ** 2).sum())
    nuc = np.linalg.norm(G, "nuc")
    return nuc if name == "spectral" else np.sqrt(G.shape[0] / G.shape[1]) * nuc


def _objective(G, D, lam, name):
    return float(np.sum(G * D) + 0.5 * lam * _primal(D, name) ** 2)


# ------------------------------------------------------------------------------ C7 identities
def test_shampoo_without_accumulation_is_the_polar_factor():
    """(GGᵀ)^{-1/4} G (GᵀG)^{-1/4} = UVᵀ (C7), UVᵀ also from scipy's polar decomposition G = U_p H."""
    G = _G()
    Up, _ = scipy.linalg.polar(G)                 # full column rank: U_p = UVᵀ
    assert np.abs(norms.shampoo_direction(G) - Up).max() < 1e-12
    assert np.abs(norms.orthogonalize(G, "svd") - Up).max() < 1e-12
    assert np.abs(norms.orthogonalize(G.T, "svd") - Up.T).max() < 1e-12


@pytest.mark.parametrize("name", norms.NORMS)
@pytest.mark.parametrize("lam", [0.3, 1.0, 4.0])
def test_steepest_step_attains_minus_dual_squared(name, lam):
    """step minimises ⟨G,Δ⟩ + (λ/2)‖Δ‖² with value −‖G‖_†²/(2λ) (C7: nuclear for spectral, ℓ1 for ℓ∞)."""
    G = _G()
    step, value = hd.norms.steepest_descent(G, norm=name, sharpness=lam)
    expected = -_dual(G, name) ** 2 / (2 * lam)
    assert value == pytest.approx(expected, rel=1e-12)
    assert _objective(G, step, lam, name) == pytest.approx(expected, rel=1e-12)
    assert hd.norms.dual_norm(G, name) == pytest.approx(_dual(G, name), rel=1e-12)
    assert hd.norms.norm_value(step, name) == pytest.approx(_dual(G, name) / lam, rel=1e-12)


@pytest.mark.parametrize("name", norms.NORMS)
def test_random_perturbations_never_do_better(name):
    """Neither 2000 random perturbations of the step nor the best multiple of 2000 random directions
    beat −‖G‖_†²/(2λ) (the latter reaches −⟨G,t⟩²/(2λ‖t‖²) ≤ −‖G‖_†²/(2λ) only at a maximiser)."""
    G, lam = _G(seed=1), 1.7
    step, value = hd.norms.steepest_descent(G, norm=name, sharpness=lam)
    rng = np.random.default_rng(2)
    scale = np.abs(step).max()
    for eps in (1e-3, 1e-1, 1.0):
        objs = [_objective(G, step + eps * scale * rng.standard_normal(G.shape), lam, name)
                for _ in range(700)]
        assert min(objs) >= value - 1e-12 * abs(value)
    T = rng.standard_normal((2000, *G.shape))
    best = [-(np.sum(G * t)) ** 2 / (2 * lam * _primal(t, name) ** 2) for t in T]
    assert min(best) > value


def test_linf_step_is_scaled_sign_and_spectral_step_scaled_polar():
    G, lam = _G(), 2.0
    step, _ = hd.norms.steepest_descent(G, "linf", lam)
    assert np.array_equal(step, -(np.abs(G).sum() / lam) * np.sign(G))
    step, _ = hd.norms.steepest_descent(G, "spectral", lam)
    Up, _ = scipy.linalg.polar(G)
    assert np.abs(step + (np.linalg.norm(G, "nuc") / lam) * Up).max() < 1e-12
    step, _ = hd.norms.steepest_descent(G, "rms-rms", lam)      # −(d_out/d_in)‖G‖_*/λ · UVᵀ
    assert np.abs(step + (6 / 4) * (np.linalg.norm(G, "nuc") / lam) * Up).max() < 1e-12


def test_newton_schulz_reaches_polar_factor_in_60_iterations():
    """Cubic Newton–Schulz: UVᵀ to 1e-8 in 60 iterations (C7), for tall, wide and square G."""
    for shape in ((6, 4), (4, 6), (5, 5), (40, 7)):
        G = _G(shape, seed=3)
        X = hd.norms.orthogonalize(G, method="newton-schulz", steps=60)
        U, _, Vt = np.linalg.svd(G, full_matrices=False)
        assert np.abs(X - U @ Vt).max() < 1e-8, shape
    X, it = norms.newton_schulz(_G(), steps=200, tol=1e-14)
    assert it < 60


def test_rank_deficient_input_uses_the_range():
    a, b = np.arange(1.0, 7.0), np.array([1.0, -2.0, 0.5, 3.0])
    G = np.outer(a, b)                                            # rank 1: UVᵀ = abᵀ/(‖a‖‖b‖)
    expected = np.outer(a / np.linalg.norm(a), b / np.linalg.norm(b))
    for X in (norms.orthogonalize(G), norms.orthogonalize(G, "newton-schulz"), norms.shampoo_direction(G)):
        assert np.abs(X - expected).max() < 1e-8
    step, value = hd.norms.steepest_descent(G, "spectral", 1.0)
    assert value == pytest.approx(-(np.linalg.norm(a) * np.linalg.norm(b)) ** 2 / 2, rel=1e-12)
    assert np.all(norms.orthogonalize(np.zeros((3, 2))) == 0)
    assert np.all(hd.norms.steepest_descent(np.zeros((3, 2)), "spectral").step == 0)


# ------------------------------------------------------------------------------ layers
def test_max_over_layers():
    """max_l ‖Δ_l‖ norm: dual Σ_l ‖G_l‖_†, value −(Σ_l ‖G_l‖_†)²/(2λ), each layer along its maximiser."""
    Gs = [_G((6, 4), 0), _G((3, 5), 1)]
    lam = 1.5
    steps, value = hd.norms.steepest_descent(Gs, norm="spectral", sharpness=lam)
    S = sum(np.linalg.norm(g, "nuc") for g in Gs)
    assert value == pytest.approx(-S ** 2 / (2 * lam), rel=1e-12)
    obj = sum(np.sum(g * s) for g, s in zip(Gs, steps)) + 0.5 * lam * max(
        np.linalg.norm(s, 2) for s in steps) ** 2
    assert obj == pytest.approx(value, rel=1e-12)
    for g, s in zip(Gs, steps):
        assert np.linalg.norm(s, 2) == pytest.approx(S / lam, rel=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(300):
        pert = [s + 0.3 * rng.standard_normal(s.shape) for s in steps]
        o = sum(np.sum(g * p) for g, p in zip(Gs, pert)) + 0.5 * lam * max(
            np.linalg.norm(p, 2) for p in pert) ** 2
        assert o >= value - 1e-12 * abs(value)


def test_linf_over_layers_equals_linf_of_the_flattened_network():
    Gs = [_G((6, 4), 0), _G((3,), 1)]
    steps, value = hd.norms.steepest_descent(Gs, norm="linf", sharpness=2.0)
    flat, fvalue = hd.norms.steepest_descent(np.concatenate([g.ravel() for g in Gs]), "linf", 2.0)
    assert value == pytest.approx(fvalue, rel=1e-14)
    assert np.array_equal(np.concatenate([s.ravel() for s in steps]), flat)
    mixed, _ = hd.norms.steepest_descent(Gs, norm=["spectral", "l2"], sharpness=2.0)
    assert mixed[1].shape == (3,)


# ------------------------------------------------------------------------------ sign descent = Adam(0, 0)
def test_sign_descent_is_adam_with_zero_betas():
    """Adam's bias-corrected step with β1 = β2 = 0, ε = 0 (written out here) is −lr·sign(g)."""
    g = _G((50,), 7)
    b1 = b2 = 0.0
    m = (1 - b1) * g
    v = (1 - b2) * g ** 2
    adam = -0.1 * (m / (1 - b1)) / np.sqrt(v / (1 - b2))
    # g/√(g²) is ±1 up to one rounding of the square root
    np.testing.assert_allclose(norms.sign_descent(g, lr=0.1), adam, rtol=4e-16, atol=0)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, word", [
    (lambda: hd.norms.steepest_descent(_G(), norm="nuclear"), "norm"),
    (lambda: hd.norms.steepest_descent(_G(), norm=None), "norm"),
    (lambda: hd.norms.steepest_descent(np.ones(5), norm="spectral"), "G must be a matrix"),
    (lambda: hd.norms.steepest_descent(np.ones((2, 2, 2)), norm="rms-rms"), "G must be a matrix"),
    (lambda: hd.norms.steepest_descent(_G(), sharpness=0.0), "sharpness"),
    (lambda: hd.norms.steepest_descent(_G(), sharpness=-1.0), "sharpness"),
    (lambda: hd.norms.steepest_descent(_G(), sharpness=float("nan")), "sharpness"),
    (lambda: hd.norms.steepest_descent(_G(), sharpness="1"), "sharpness"),
    (lambda: hd.norms.steepest_descent(np.array([[1.0, np.inf]]), "l2"), "G must contain only finite"),
    (lambda: hd.norms.steepest_descent("abc", "l2"), "G must be a real array"),
    (lambda: hd.norms.steepest_descent([_G(), _G()], norm=["l2"]), "norm must be one name or a list"),
    (lambda: hd.norms.orthogonalize(_G(), method="qr"), "method"),
    (lambda: hd.norms.orthogonalize(np.ones(3)), "G must be a matrix"),
    (lambda: hd.norms.newton_schulz(_G(), steps=-1), "steps"),
    (lambda: hd.norms.dual_norm(_G(), "linf2"), "norm"),
])
def test_bad_input_names_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_error_message_prints_plain_numbers():
    with pytest.raises(ValueError) as exc:
        hd.norms.steepest_descent(_G(), sharpness=np.float64(-1.5))
    assert "np.float64" not in str(exc.value) and "-1.5" in str(exc.value)


def test_paper_check_norms_fast(tmp_path):
    """paper_checks/norms.py (C7 and sign descent = Adam(0, 0)) in fast mode: every claim passes."""
    import paper_checks
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["norms"])
    assert len(rows) == 7
    failed = [(r["claim"], r["measured"], r.get("traceback")) for r in rows if not r["passed"]]
    assert not failed, failed
