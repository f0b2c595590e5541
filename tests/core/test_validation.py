"""Input checks: messages name the parameter, print plain numbers and honest ranges."""
import numpy as np
import pytest

import hdlimits as hd
from hdlimits.core import validation as v


@pytest.mark.parametrize("call, text", [
    (lambda: v.positive("lr", np.float64(-1.0)), "lr must lie in (0, inf), got -1.0"),
    (lambda: v.nonnegative("std", -2), "std must lie in [0, inf), got -2.0"),
    (lambda: v.real("beta", np.float64(np.inf)), "beta must be finite, in (-inf, inf), got inf"),
    (lambda: v.real("x", 3.0, low=0.5, high=2.0, high_open=True), "x must lie in [0.5, 2), got 3.0"),
    (lambda: v.real("x", "abc", low=0.0), "x must be a real number in [0, inf), got 'abc'"),
    (lambda: v.integer("runs", np.float64(2.5)), "runs must be an integer ≥ 1, got 2.5"),
    (lambda: v.vector("w", [1.0, -0.5], nonnegative=True), "min is -0.5"),
    (lambda: hd.noise.gaussian_mixture(np.array([0.5, 0.6]), [0, 0], [1, 1]), "got sum 1.1"),
])
def test_messages_print_plain_numbers_and_open_infinite_ends(call, text):
    with pytest.raises(ValueError) as exc:
        call()
    msg = str(exc.value)
    assert text in msg, msg
    assert "np.float64" not in msg and "inf]" not in msg and "[-inf" not in msg


def test_range_text():
    assert v.range_text(0.0, low_open=True) == "(0, inf)"
    assert v.range_text(1e-14, 0.1) == "[1e-14, 0.1]"
    assert v.range_text() == "(-inf, inf)"


_PROB = hd.Problem.isotropic(10, seed=0)


@pytest.mark.parametrize("call, word", [
    (lambda: hd.predict_risk(_PROB, "sgd", [1.0]), r"optimizer must be an optimizer object .* got str 'sgd'"),
    (lambda: hd.predict_risk({"d": 10}, hd.SGD(1.0), [1.0]), r"problem must be a hdlimits.Problem .* got dict"),
    (lambda: hd.predict_risk(_PROB, None, [1.0]), r"optimizer must be .* got NoneType"),
    (lambda: hd.simulate(_PROB, "sgd", [1.0]), r"optimizer must be an optimizer object .* got str"),
    (lambda: hd.simulate({"d": 10}, hd.SGD(1.0), [1.0]), r"problem must be a hdlimits.Problem .* got dict"),
    (lambda: hd.predict_risk(_PROB, hd.SGD(1.0), "abc"), r"t must be"),
    (lambda: hd.predict_risk(_PROB, hd.SGD(1.0), [1.0], rtol="x"), r"rtol must be a real number in \[1e-14, 0.1\]"),
    (lambda: hd.predict_risk(_PROB, hd.SGD(1.0), [1.0], fixed_step=np.float64(-1)),
     r"fixed_step must lie in \(0, inf\), got -1.0"),
    (lambda: hd.noise.parse("gaussian:std=abc"), r"noise: gaussian: std must be a real number, got 'abc'"),
])
def test_wrong_types_raise_value_error_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_a_dimension_beyond_physical_memory_is_refused_before_allocating():
    """Audit item 10: with memory overcommit a huge d used to be allocated and the process killed."""
    from hdlimits.core import validation as val
    total = val.physical_memory()
    if total is None:
        pytest.skip("the OS does not report physical memory")
    d = int(total / 8)                       # d float64 numbers alone are the whole memory
    with pytest.raises(ValueError, match=r"^d = \d+ is too large: a power-law problem needs about"):
        hd.Problem.power_law(d=d, alpha=1.0, beta=1.0, spectrum="explicit")
    # without spectrum="explicit" such a d is a continuous spectrum with no d-length array (docs/spectra.md)
    assert hd.Problem.power_law(d=d, alpha=1.0, beta=1.0).d == d
    with pytest.raises(ValueError, match="too large"):
        hd.Problem.isotropic(d)
    with pytest.raises(ValueError, match="rotated"):
        hd.Problem.power_law(d=200_000, alpha=1.0, beta=1.0, rotate=True)


# ------------------------------------------------------------------ audit 3 and 6

def test_vector_says_what_its_size_is():
    with pytest.raises(ValueError, match=r"must have length 3 \(the dimension d\), got 2"):
        v.vector("e0", [1.0, 2.0], size=3)
    with pytest.raises(ValueError, match=r"means must have length 2 \(the number of components") as exc:
        hd.noise.gaussian_mixture([0.5, 0.5], [0.0], [1.0, 1.0])
    assert "dimension" not in str(exc.value)
    with pytest.raises(ValueError, match=r"stds must have length 2 \(the number of components"):
        hd.noise.gaussian_mixture([0.5, 0.5], [0.0, 0.0], [1.0])


def test_definite_matrix_with_a_negative_eigenvalue_asks_for_definite():
    with pytest.raises(ValueError, match=r"must be positive definite \(eigenvalues in \(0, inf\)\), "
                                         r"smallest eigenvalue is -1") as exc:
        v.symmetric_psd("P", [[1.0, 2.0], [2.0, 1.0]], definite=True)
    assert "semi" not in str(exc.value)
    with pytest.raises(ValueError, match=r"positive definite \(eigenvalues in \(0, inf\)\)"):
        hd.PreconditionedSGD(1.0, [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=r"positive semi-definite \(eigenvalues in \[0, inf\)\)"):
        v.symmetric_psd("K", [[1.0, 2.0], [2.0, 1.0]])


@pytest.mark.parametrize("value", ["1.0", "1e1", b"1", np.str_("2")])
def test_real_refuses_text(value):
    with pytest.raises(ValueError, match=r"x must be a real number in \(0, inf\), got .* \(text, not a number\)"):
        v.real("x", value, low=0.0, low_open=True)


def test_optimizers_refuse_numeric_strings():
    with pytest.raises(ValueError, match="lr must be a real number in \\(0, inf\\), got '1.0'"):
        hd.SGD("1.0")
    with pytest.raises(ValueError, match="clip must be a real number .*got '1e1'"):
        hd.ClippedSGD(1.0, "1e1")
