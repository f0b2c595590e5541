"""``hdlimits phase`` (hdlimits.cli.phase): options, outputs, the dask scheduler."""
import time

import numpy as np
import pytest

from hdlimits import cli, phase
from hdlimits.sweeps import SweepResult

from .common import one_line_error

STAB = ["phase", "sgd-stability", "--d", "60", "--lr-min", "0.5", "--lr-max", "40", "--batches", "1,4",
        "--t-max", "100", "--no-progress"]


_error = one_line_error


def test_phase_cli(tmp_path, capsys):
    code = cli.main(STAB + ["--resolution", "6", "--out", str(tmp_path / "cli"), "--backend", "serial"])
    out = capsys.readouterr().out
    assert code == 0 and "grid lr[6]×batch[2]" in out
    assert (tmp_path / "cli.png").exists() and (tmp_path / "cli.npz").exists()
    # the printed counts are the per-point status codes (the diverged count used to read 0 always)
    codes = SweepResult.load(tmp_path / "cli.npz").status_code
    n_div = int((codes == "diverged").sum())
    assert n_div > 0 and f"{int((codes == 'ok').sum())} ok, {n_div} diverged" in out
    err = _error(["phase", "lr-time", "--batches", "1,2", "--out", str(tmp_path / "x")], capsys)
    assert "--batches applies to 'phase sgd-stability / stochastic-eos' only" in err
    assert "needs --scheduler" in _error(["phase", "sgd-stability", "--backend", "dask"], capsys)


def test_phase_is_registered_in_the_hdlimits_command():
    args = cli.build_parser().parse_args(["phase", "lr-time", "--t-max", "5"])
    assert args.name == "lr-time" and callable(args.func)


def test_phase_cli_resolution_alone_uses_the_default_range(tmp_path, capsys):
    code = cli.main(["phase", "sgd-stability", "--d", "60", "--resolution", "4", "--batches", "1",
                     "--t-max", "50", "--out", str(tmp_path / "r"), "--backend", "serial", "--no-progress"])
    assert code == 0 and "grid lr[4]×batch[1]" in capsys.readouterr().out
    err = _error(["phase", "sgd-stability", "--lr-min", "0.5", "--out", str(tmp_path / "y")], capsys)
    assert "--lr-min and --lr-max must be given together" in err


def test_help_shows_the_default_d_of_each_diagram(capsys):
    """Audit 11: the help said 400 for every diagram while clipping and sign-vs-sgd use 100."""
    with pytest.raises(SystemExit):
        cli.main(["phase", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    out = out.replace("- ", "-")          # argparse may wrap a line after a hyphen
    assert ("dimension d (default: sgd-stability 400, lr-time 400, clipping 100, sign-vs-sgd 100, "
            "stochastic-eos 80, sam-edge 2, eos 2)"
            in out)


def test_help_prefers_the_declared_default_d_table(capsys, monkeypatch):
    table = {name: 7 * (i + 1) for i, name in enumerate(phase.NAMES)}
    monkeypatch.setattr(phase, "DEFAULT_D", table, raising=False)
    with pytest.raises(SystemExit):
        cli.main(["phase", "--help"])
    out = " ".join(capsys.readouterr().out.split()).replace("- ", "-")   # wraps after a hyphen undone
    assert "dimension d (default: " + ", ".join(f"{n} {d}" for n, d in table.items()) + ")" in out


@pytest.mark.parametrize("stem, message", [
    ("/proc/hdl_phase", "--out: cannot write '/proc/hdl_phase.png'"),
    ("/nonexistent_dir_hdl/sub/p", "--out: directory '/nonexistent_dir_hdl/sub' does not exist"),
])
def test_unwritable_out_fails_before_the_sweep(stem, message, capsys, monkeypatch):
    """Audit 2: an unwritable --out gave a traceback after the whole sweep, and a missing directory was
    created (predict/simulate refuse it): both are now one line, before any computation."""
    def no_sweep(*args, **kwargs):
        """A diagram that must not run."""
        raise AssertionError("the diagram was computed")

    monkeypatch.setitem(phase.NAMES, "sgd-stability", no_sweep)
    assert message in _error(STAB + ["--out", stem, "--backend", "serial"], capsys)


def test_bad_noise_is_named(capsys):
    err = _error(STAB + ["--noise", "gaussian:std=0.5,std=1"], capsys)
    assert "--noise: gaussian: std is given twice" in err


def test_unreachable_scheduler_is_one_line_and_quick(tmp_path, capsys):
    """Audit 10: an unreachable scheduler took 30 s and ended in a 20-frame OSError."""
    pytest.importorskip("distributed")
    start = time.perf_counter()
    err = _error(STAB + ["--out", str(tmp_path / "s"), "--scheduler", "tcp://127.0.0.1:1",
                         "--scheduler-timeout", "1"], capsys)
    assert time.perf_counter() - start < 15
    assert "--scheduler: cannot connect to the dask scheduler at 'tcp://127.0.0.1:1' within 1 s" in err
    assert "--scheduler-timeout applies only with --scheduler" in _error(
        STAB + ["--scheduler-timeout", "1"], capsys)


def test_phase_cli_on_a_dask_scheduler_matches_local(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    args = STAB + ["--resolution", "5"]
    assert cli.main(args + ["--out", str(tmp_path / "loc"), "--backend", "serial"]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        assert cli.main(args + ["--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]) == 0
    assert "(dask)" in capsys.readouterr().out
    a, b = SweepResult.load(tmp_path / "loc.npz"), SweepResult.load(tmp_path / "dask.npz")
    for k in a.values:
        np.testing.assert_array_equal(a[k], b[k])


def test_phase_scaling_law_quick_cli(tmp_path, capsys):
    code = cli.main(["phase", "scaling-law", "--quick", "--resolution", "2", "--out", str(tmp_path / "sl"),
                     "--backend", "serial", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "phase scaling-law: grid beta[2]×alpha[2]" in out
    back = SweepResult.load(tmp_path / "sl.npz")
    n_ok = int((back.status_code == "ok").sum())
    assert f"{n_ok} ok, 0 diverged, {4 - n_ok} other" in out
    assert back.metadata["quick"] is True and np.isfinite(back["xi"][back.status_code == "ok"]).all()
    assert (tmp_path / "sl.png").stat().st_size > 30_000


def test_phase_scaling_law_options_are_checked(tmp_path, capsys):
    stem = ["--out", str(tmp_path / "x")]
    assert "--d does not apply to 'phase scaling-law'" in _error(["phase", "scaling-law", "--d", "64"] + stem,
                                                                 capsys)
    assert "--t-max does not apply" in _error(["phase", "scaling-law", "--t-max", "5"] + stem, capsys)
    assert "--quick applies to 'phase scaling-law' only" in _error(["phase", "lr-time", "--quick"] + stem,
                                                                   capsys)
    assert "--alpha applies to" in _error(["phase", "scaling-law", "--alpha", "1"] + stem, capsys)
