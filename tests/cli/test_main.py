"""hdlimits.cli.main: one-line errors and exit statuses (2 error, 130 interrupted, 141 closed stdout),
the output-path rule and the strict --noise reader."""
import os
import subprocess
import sys

import pytest

from hdlimits import cli
from hdlimits.core.noise import parse as parse_noise

from .common import one_line_error

SMALL = ["--d", "200", "--t-max", "2", "--n-times", "11"]


_error = one_line_error


@pytest.fixture
def no_computation(monkeypatch):
    """Make any prediction or simulation fail the test: checks must come before them."""
    import hdlimits.predict
    import hdlimits.sim.simulate

    def boom(*args, **kwargs):
        raise AssertionError("computed before checking the outputs")

    monkeypatch.setattr(hdlimits.predict, "predict_risk", boom)
    monkeypatch.setattr(hdlimits.sim.simulate, "simulate", boom)


# ------------------------------------------------------------------ outputs (audit 2)

@pytest.mark.parametrize("command", ["predict", "simulate", "compare"])
@pytest.mark.parametrize("option", ["--csv", "--json", "--plot"])
def test_unwritable_output_fails_before_computing(command, option, capsys, no_computation):
    path = "/proc/hdl_cli_test." + ("png" if option == "--plot" else option[2:])
    err = _error([command, *SMALL, option, path], capsys)
    assert err.startswith(f"hdlimits: error: {option}: cannot write '{path}'")


def test_missing_directory_is_refused_and_named(tmp_path, capsys, no_computation):
    missing = tmp_path / "no" / "such"
    err = _error(["predict", *SMALL, "--json", str(missing / "p.json")], capsys)
    assert f"--json: directory '{missing}' does not exist" in err
    assert not (tmp_path / "no").exists()


def test_output_check_leaves_no_file_behind(tmp_path, capsys, monkeypatch):
    """The writability probe removes the file it created when the command then fails."""
    err = _error(["predict", *SMALL, "--csv", str(tmp_path / "a.csv"), "--lr", "-1"], capsys)
    assert "lr" in err and not (tmp_path / "a.csv").exists()


def test_help_states_the_directory_rule_and_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "its directory must exist (it is never created)" in out
    assert "130 interrupted" in out and "141 stdout closed early" in out


# ------------------------------------------------------------------ failures (audits 1, 10)

def test_huge_d_is_one_line(capsys):
    """Audit 10: numpy's _ArrayMemoryError (a MemoryError) escaped as a traceback. (The power-law problem
    at such d is now a continuous spectrum with no d-length arrays, docs/spectra.md; an isotropic problem
    still needs d numbers.)"""
    err = _error(["predict", "--problem", "isotropic", "--d", str(10 ** 13), "--t-max", "1"], capsys)
    assert err.startswith("hdlimits: error: d = 10000000000000 is too large") and "GiB" in err


def test_huge_d_power_law_runs_on_its_continuous_spectrum(capsys):
    assert cli.main(["predict", "--d", str(10 ** 13), "--t-max", "1", "--n-times", "5"]) == 0
    assert "status ok" in capsys.readouterr().out


def test_memory_error_is_one_line(capsys, monkeypatch):
    """A MemoryError from any allocation (one the up-front estimate missed) is one line too."""
    import hdlimits.predict

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 80. TiB for an array")

    monkeypatch.setattr(hdlimits.predict, "predict_risk", out_of_memory)
    err = _error(["predict", *SMALL], capsys)
    assert err.startswith("hdlimits: error: not enough memory") and "--d" in err


def test_keyboard_interrupt_exits_130(capsys, monkeypatch):
    import hdlimits.predict

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hdlimits.predict, "predict_risk", interrupted)
    assert _error(["predict", *SMALL], capsys, code=130) == "hdlimits: interrupted"


# ------------------------------------------------------------------ closed stdout (audit 4)

def _command(*args):
    return [sys.executable, "-c", "import sys; from hdlimits.cli import main; sys.exit(main())", *args]


def _env():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                HDLIMITS_NO_PROGRESS="1")


def _check_files(csv, png):
    rows = [ln for ln in csv.read_text().splitlines() if not ln.startswith("#")]
    assert rows[0] == "t,risk,excess_risk" and len(rows) == 12
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_closed_stdout_exits_141_quietly_with_complete_files(tmp_path):
    """Audit 4: with stdout closed early the command exited 1 (and could lose its files)."""
    csv, png = tmp_path / "bp.csv", tmp_path / "bp.png"
    proc = subprocess.Popen(_command("predict", *SMALL, "--csv", str(csv), "--plot", str(png)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path)
    proc.stdout.close()                    # the reader is gone before the command prints anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 141 and err == ""
    _check_files(csv, png)


def test_piped_into_head(tmp_path):
    csv, png = tmp_path / "bp.csv", tmp_path / "bp.png"
    cmd = " ".join(map(repr, _command("predict", *SMALL, "--csv", str(csv), "--plot", str(png))))
    res = subprocess.run(["bash", "-c", f"{cmd} | head -2; exit ${{PIPESTATUS[0]}}"], capture_output=True,
                         env=_env(), cwd=tmp_path, timeout=600)
    assert res.returncode in (0, 141) and res.stderr == b""
    lines = res.stdout.decode().splitlines()
    assert len(lines) == 2 and lines[0].startswith("problem:")
    _check_files(csv, png)


# ------------------------------------------------------------------ --noise (audit 12)

@pytest.mark.parametrize("spec, message", [
    ("gaussian:std=0.3,std=5", "--noise: gaussian: std is given twice"),
    ("gaussian:std=abc", "--noise: gaussian: std must be a real number, got 'abc'"),
    ("student_t:df=3,scale=nan", "--noise: student_t: scale must be a real number, got 'nan'"),
    ("gaussian:sd=1", "--noise: gaussian: unknown parameter 'sd'; allowed: std"),
    ("none:std=1", "--noise: none: unknown parameter 'std'; allowed: none"),
    ("student_t:scale=1", "--noise: student_t: missing df"),
    ("gaussian:std=1;2", "--noise: gaussian: std must be one real number"),
    ("gaussian:0.3", "--noise: gaussian: parameter '0.3' must be written key=value"),
    ("cauchy:scale=1", "--noise: noise law must be one of gaussian, gaussian_mixture, laplace, none, "
                       "rademacher, student_t, uniform; got 'cauchy'"),
    ("gaussian:std=-1", "--noise: gaussian: std"),
])
def test_noise_spec_errors(spec, message):
    with pytest.raises(ValueError) as exc:
        parse_noise(spec, "--noise")
    assert message in str(exc.value)


def test_noise_spec_values():
    from hdlimits.core import noise
    assert parse_noise("gaussian:std=0.3", "--noise") == noise.gaussian(0.3)
    assert parse_noise("student-t: df=3 , scale=0.5") == noise.student_t(3, 0.5)
    assert parse_noise("none", "--noise") == noise.none()
    assert parse_noise("gaussian_mixture:weights=0.9;0.1,means=0;0,stds=0.1;3") == \
        noise.gaussian_mixture([0.9, 0.1], [0, 0], [0.1, 3])


@pytest.mark.parametrize("command", [["predict", *SMALL], ["derive", "sgd"]])
def test_noise_errors_on_the_command_line(command, capsys, no_computation):
    err = _error([*command, "--noise", "gaussian:std=0.3,std=5"], capsys)
    assert err == "hdlimits: error: --noise: gaussian: std is given twice"


# ------------------------------------------------------------------ warnings (audit 3)

GROWING = ["--d", "500", "--lr", "2.6", "--t-max", "3", "--n-times", "11"]


def test_growth_warning_is_one_line_on_stderr_and_in_the_summary(capsys):
    """SGD above its critical learning rate: the UnstableWarning becomes one 'hdlimits: warning:' line
    (no Python warning with a source line) and a 'warning:' line under the theory status."""
    assert cli.main(["predict", *GROWING]) == 0
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert len(err) == 1, cap.err
    assert err[0].startswith("hdlimits: warning: risk grows without bound"), cap.err
    assert "commands.py" not in cap.err and "UnstableWarning" not in cap.err
    lines = cap.out.splitlines()
    status = next(i for i, line in enumerate(lines) if line.startswith("theory:"))
    assert lines[status + 1].startswith("warning:") and "risk grows without bound" in lines[status + 1]


def test_other_warnings_are_one_line_each(capsys, monkeypatch):
    import warnings

    import hdlimits.predict
    real = hdlimits.predict.predict_risk

    def noisy(*args, **kwargs):
        warnings.warn("times moved\nto the grid", UserWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(hdlimits.predict, "predict_risk", noisy)
    assert cli.main(["predict", *SMALL]) == 0
    cap = capsys.readouterr()
    assert cap.err.strip() == "hdlimits: warning: times moved to the grid"
    assert "warning:    times moved to the grid" in cap.out


# ------------------------------------------------------------------ one-line argparse errors (audit 3)

@pytest.mark.parametrize("argv, command", [
    (["predict", "--lr", "x"], "predict"),
    (["predict", "--d", "2.5"], "predict"),
    (["predict", "--quantity", "loss"], "predict"),
    (["predict", "--milestones", "a,b"], "predict"),
    (["simulate", "--seed", "abc"], "simulate"),
    (["compare", "--optimizer", "lbfgs"], "compare"),
    (["derive", "--at", "-1", "sgd"], "derive"),
    (["phase", "nope"], "phase"),
    (["nope"], None),
])
def test_argparse_errors_are_one_line(argv, command, capsys):
    err = _error(argv, capsys)
    assert err.startswith("hdlimits: error: "), err
    assert "usage:" not in err
    assert err.endswith(f"(see 'hdlimits {command} --help')" if command else "(see 'hdlimits --help')")


@pytest.mark.parametrize("argv, prefix", [
    (["simulate", *SMALL, "--runs", "2", "--seed", "-1"], "--seed: seed must be"),
    (["simulate", *SMALL, "--problem-seed", "-1"], "--problem-seed: seed must be"),
    (["predict", *SMALL, "--rtol", "2"], "--rtol: rtol must lie"),
    (["predict", *SMALL, "--lr", "-1"], "--lr: lr must lie"),
    (["predict", *SMALL, "--batch", "0"], "--batch: batch must be"),
    (["predict", *SMALL, "--optimizer", "adam", "--adam-eps", "-1"], "--adam-eps: eps must lie"),
    (["predict", *SMALL, "--optimizer", "clipped", "--clip-kappa", "-1"], "--clip-kappa: kappa must lie"),
    (["predict", *SMALL, "--initial-size", "-1"], "--initial-size: initial_size must lie"),
    (["simulate", *SMALL, "--runs", "2", "--workers", "0"], "--workers: workers must be"),
])
def test_library_errors_name_the_option(argv, prefix, capsys):
    err = _error(argv, capsys)
    assert err.startswith("hdlimits: error: " + prefix), err
