"""solve_modes: its input checks (the integration itself is tested in test_integrate.py)."""
import pytest

from hdlimits.solvers.solve import solve_modes


@pytest.mark.parametrize("system", ["x", None, 3.0])
def test_system_must_be_a_mode_system(system):
    with pytest.raises(ValueError, match=r"system must be a hdlimits\.solvers\.modes\.ModeSystem"):
        solve_modes(system, [0.0, 1.0])
