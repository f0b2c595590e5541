"""Minibatch versions of the batch-1 limits (audit 4): the LimitNotAvailable message says, per
optimizer, whether simulate() runs it — and simulate() does what the message says."""
import numpy as np
import pytest

import hdlimits as hd

PROB = hd.Problem.isotropic(20, noise=hd.noise.gaussian(0.3), seed=0)
T = np.linspace(0.0, 0.2, 3)


@pytest.mark.parametrize("opt, simulated", [
    (hd.ClippedSGD(0.5, clip=3.0, batch=2), False),
    (hd.NormalizedSGD(0.5, batch=2), False),
    (hd.SignSGD(0.3, batch=2), True),
    (hd.Adam(0.3, batch=2), True),
], ids=lambda x: type(x).__name__ if not isinstance(x, bool) else str(x))
def test_message_says_whether_simulate_runs_it(opt, simulated):
    with pytest.raises(hd.LimitNotAvailable) as exc:
        hd.predict_risk(PROB, opt, T)
    msg = str(exc.value)
    assert "runs what its kernels support" not in msg
    if simulated:
        assert "simulate() runs it" in msg, msg
        sim = hd.simulate(PROB, opt, T, runs=2, seed=0, workers=1, progress=False)
        assert sim.ok and sim.t.size == T.size
    else:
        assert "simulate() does not run it" in msg and "use batch = 1" in msg, msg
        with pytest.raises(ValueError, match="batch must be 1"):
            hd.simulate(PROB, opt, T, runs=2, seed=0, workers=1, progress=False)


def test_sgd_without_a_noise_second_moment_is_simulated_not_predicted():
    """README: SGD under noise without a second moment has no limit, but simulate() runs it."""
    prob = hd.Problem.isotropic(20, noise=hd.noise.student_t(1.5, 0.5), seed=0)
    with pytest.raises(hd.LimitNotAvailable):
        hd.predict_risk(prob, hd.SGD(0.5), T)
    sim = hd.simulate(prob, hd.SGD(0.5), T, runs=2, seed=0, workers=1, progress=False)
    assert sim.t.size == T.size
