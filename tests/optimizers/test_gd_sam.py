"""hd.GD and hd.SAM: validated frozen descriptions; no limit on streaming least squares."""
import dataclasses

import numpy as np
import pytest

import hdlimits as hd
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.optimizers.base import Optimizer

PROB = hd.Problem.power_law(d=40, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)


def test_gd_and_sam_are_frozen_descriptions():
    gd, sam = hd.GD(0.5), hd.SAM(0.5, 0.1)
    for opt in (gd, sam):
        assert dataclasses.is_dataclass(opt) and type(opt).__dataclass_params__.frozen
        assert isinstance(opt, Optimizer) and not isinstance(opt, hd.SGD)   # no SGD limit by inheritance
        with pytest.raises(dataclasses.FrozenInstanceError):
            opt.lr = 1.0
    assert gd.describe() == "GD(lr=0.5)" and str(gd) == "GD(lr=0.5)"
    assert sam.describe() == "SAM(lr=0.5, rho=0.1)"
    assert hd.SAM(0.5, 0.1, normalized=True, batch=3).describe() == "SAM(lr=0.5, rho=0.1, normalized=True, batch=3)"
    assert hd.SAM(lr=0.5, rho=0.0).rho == 0.0 and hd.SAM(0.5, 1).rho == 1.0
    assert type(hd.GD(np.float64(0.5)).lr) is float


@pytest.mark.parametrize("make, name", [
    (lambda: hd.GD(0.0), "lr"), (lambda: hd.GD(-1.0), "lr"), (lambda: hd.GD(float("inf")), "lr"),
    (lambda: hd.GD("fast"), "lr"), (lambda: hd.GD(lambda t: 1.0), "lr"),
    (lambda: hd.SAM(0.0, 0.1), "lr"), (lambda: hd.SAM(0.5, -0.1), "rho"),
    (lambda: hd.SAM(0.5, float("nan")), "rho"), (lambda: hd.SAM(0.5, 0.1, normalized="yes"), "normalized"),
    (lambda: hd.SAM(0.5, 0.1, batch=0), "batch"), (lambda: hd.SAM(0.5, 0.1, batch=2.5), "batch")])
def test_bad_input_names_the_parameter(make, name):
    with pytest.raises(ValueError, match=f"^{name} must") as info:
        make()
    assert "np.float64" not in str(info.value)


def test_error_messages_print_plain_ranges():
    with pytest.raises(ValueError, match=r"rho must lie in \[0, inf\), got -0.5"):
        hd.SAM(0.5, np.float64(-0.5))
    with pytest.raises(ValueError, match=r"lr must lie in \(0, inf\), got 0.0"):
        hd.GD(0)


@pytest.mark.parametrize("opt", [hd.GD(0.5), hd.SAM(0.5, 0.1), hd.SAM(0.5, 0.1, normalized=True)])
def test_no_limit_on_streaming_least_squares(opt):
    with pytest.raises(LimitNotAvailable, match=type(opt).__name__):
        hd.predict_risk(PROB, opt, [0.0, 1.0])


def test_exported_from_the_package():
    assert "GD" in hd.__all__ and "SAM" in hd.__all__
    from hdlimits.optimizers import GD, SAM
    assert GD is hd.GD and SAM is hd.SAM
