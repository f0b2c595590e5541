"""``hdlimits sharpness predict|simulate|compare`` (hdlimits.cli.sharpness): actions, outputs, errors."""
import json

import numpy as np
import pytest

from hdlimits import cli
from hdlimits import sharpness as hs
from hdlimits.cli.sharpness import power_law_ntk

from .common import one_line_error

LIN = ["--D", "40", "--lr", "0.1", "--batch", "4", "--steps", "30"]
WIDE = ["--model", "wide", "--P", "30", "--lr", "0.5", "--steps", "10"]


_error = one_line_error


def test_predict_linear_mp_writes_outputs_and_matches_the_library(tmp_path, capsys):
    paths = {k: tmp_path / f"p.{k}" for k in ("csv", "json")}
    code = cli.main(["sharpness", "predict", *LIN, "--csv", str(paths["csv"]), "--json", str(paths["json"]),
                     "--plot", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert code == 0 and all(p.exists() for p in paths.values()) and (tmp_path / "p.png").exists()
    assert "marchenko_pastur(D=40, P=80)" in out and "SGD(lr=0.1, batch=4)" in out and "status ok" in out
    # an independent call of the library with the documented model: the same loss curve
    import hdlimits as hd
    lin = hs.LinearModel.marchenko_pastur(40, 80, seed=0)
    th = hs.predict(lin, hd.SGD(lr=0.1, batch=4), steps=30)
    data = json.loads(paths["json"].read_text())
    assert np.allclose(np.asarray(data["observables"]["loss"] if "observables" in data else data["loss"],
                                  dtype=float), th.loss)
    assert f"loss {th.loss[0]:.6g} → {th.loss[-1]:.6g}" in out


def test_simulate_and_compare(tmp_path, capsys):
    assert cli.main(["sharpness", "simulate", *LIN, "--runs", "4", "--csv", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    assert "simulation: 4 runs, seed 1, status ok" in out and (tmp_path / "s.csv").exists()
    assert cli.main(["sharpness", "compare", *LIN, "--runs", "20", "--json", str(tmp_path / "c.json"),
                     "--plot", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "verdict:" in out and "compare loss" in out and (tmp_path / "c.png").stat().st_size > 0


def test_linear_ntk_is_the_normalised_power_law_and_divergence_is_a_status(capsys):
    lam = power_law_ntk(50, 1.0)
    assert lam.sum() == pytest.approx(50) and lam[0] / lam[1] == pytest.approx(2.0)
    code = cli.main(["sharpness", "predict", "--model", "linear-ntk", "--D", "50", "--lr", "0.5",
                     "--batch", "5", "--steps", "40", "--method", "modes"])
    out = capsys.readouterr().out
    assert code == 0 and "ntk(D=50, haar)" in out and "status diverged" in out


def test_wide_model_gd_sgd_sam(tmp_path, capsys):
    assert cli.main(["sharpness", "predict", *WIDE, "--optimizer", "gd", "--quantity", "sharpness",
                     "--plot", str(tmp_path / "w.png")]) == 0
    assert "QuadraticModel.wide(D=8, P=30" in capsys.readouterr().out
    assert cli.main(["sharpness", "compare", *WIDE, "--optimizer", "sam", "--rho", "0.5", "--draws", "2",
                     "--quantity", "sharpness", "--method", "first-order"]) == 0
    out = capsys.readouterr().out
    assert "SAM(lr=0.5, rho=0.5)" in out and "compare sharpness" in out and "verdict:" in out
    assert cli.main(["sharpness", "simulate", *WIDE, "--ntk", "2,1,0.5", "--batch", "2", "--draws", "2",
                     "--runs", "2"]) == 0
    assert "D=3" in capsys.readouterr().out


@pytest.mark.parametrize("argv, text", [
    (["--alpha", "2"], "--alpha applies only to --model linear-ntk"),
    (["--D", "20", "--batch", "30"], "--batch must be an integer in [1, 20]"),
    (["--lr", "-1"], "--lr: lr must"),
    (["--method", "mean-ntk"], "--method must be one of exact, modes"),
    (["--optimizer", "gd", "--batch", "3"], "--batch does not apply to --optimizer gd"),
    (["--rho", "0.1"], "--rho applies only to --optimizer sam"),
    (["--model-seed", "-3"], "--model-seed: seed must"),
    (["--model", "wide", "--D", "5"], "--D: the wide model has D = len(--ntk) = 8"),
    (["--csv", "/nonexistent-dir/x.csv"], "--csv: directory"),
    (["--plot", "x.unknownsuffix"], "--plot: the file suffix"),
    (["--lr", "abc"], "argument --lr: invalid float value"),
    (["--optimizer", "adam"], "argument --optimizer: invalid choice"),
])
def test_bad_options_are_one_line_errors(argv, text, capsys):
    assert text in _error(["sharpness", "predict", *argv], capsys)


def test_bad_action_and_pairs_without_theory(capsys):
    assert "invalid choice: 'bogus'" in _error(["sharpness", "bogus"], capsys)
    err = _error(["sharpness", "simulate", "--optimizer", "sam", "--D", "10", "--steps", "2"], capsys)
    assert "SGD(lr, batch) and GD(lr) only" in err


def test_help_states_the_step_convention(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sharpness", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "lr is the step η itself, time is the step count, not the streaming γ/d" in out


def test_phase_stochastic_eos_from_the_command_line(tmp_path, capsys):
    code = cli.main(["phase", "stochastic-eos", "--model", "power-law", "--d", "30", "--batches", "1,30",
                     "--lr-min", "0.01", "--lr-max", "1", "--resolution", "4", "--steps", "40", "--runs", "2",
                     "--out", str(tmp_path / "seos"), "--backend", "serial", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "grid lr[4]×batch[2]" in out
    assert all((tmp_path / f"seos.{ext}").exists() for ext in ("png", "npz", "csv", "json"))
    assert "--t-max does not apply" in _error(["phase", "stochastic-eos", "--t-max", "3"], capsys)
    assert "--steps applies to 'phase stochastic-eos / sam-edge / eos' only" in _error(["phase", "sgd-stability", "--steps",
                                                                      "3"], capsys)
    assert "--alpha applies to 'phase stochastic-eos' with --model power-law" in _error(
        ["phase", "stochastic-eos", "--alpha", "2"], capsys)
    err = _error(["phase", "stochastic-eos", "--d", "20", "--batches", "1,40", "--out", str(tmp_path / "x")],
                 capsys)
    assert "--batches: batches must be integers in [1, 20]" in err


# ---------------------------------------------------------------- second-order models (issue 10)

def test_single_output_predict_matches_the_library_and_draws(tmp_path, capsys):
    import hdlimits as hd
    fig = tmp_path / "f.png"
    code = cli.main(["sharpness", "predict", "--model", "single-output", "--optimizer", "sam", "--lr", "0.55",
                     "--rho", "0.1", "--steps", "3000", "--figure", str(fig), "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0 and fig.exists()
    q = hs.QuadraticModel.single_output(J0=[0.3, 0.4], Q=np.diag([1.0, 0.2]), residual0=-3.0)
    th = hs.predict(q, hd.SAM(lr=0.55, rho=0.1), steps=3000)
    assert f"sharpness 0.25 → {th.sharpness[-1]:.6g}" in out and abs(th.sharpness[-1] - 2.7121) < 1e-4


def test_proportional_simulate_with_tuner(tmp_path, capsys):
    fig = tmp_path / "t.png"
    code = cli.main(["sharpness", "simulate", "--model", "proportional", "--D", "20", "--P", "40", "--optimizer",
                     "gd", "--tuner", "polyak", "--c", "0.5", "--steps", "20", "--every", "5", "--figure", str(fig)])
    out = capsys.readouterr().out
    assert code == 0 and fig.exists() and "Polyak(c=0.5" in out and "status ok" in out


@pytest.mark.parametrize("argv,text", [
    (["--model", "single-output", "--residual0", "nan"], "residual0"),
    (["--model", "single-output", "--q", "1,2,3"], "--q"),
    (["--model", "single-output", "--optimizer", "sam", "--rho", "-0.1"], "rho"),
    (["--model", "single-output", "--optimizer", "gd", "--lr", "0"], "lr"),
    (["--model", "proportional", "--tuner", "cdat"], "use 'sharpness simulate'"),
    (["--sigma", "2"], "--sigma applies only to --tuner cdat"),
])
def test_second_order_bad_options(argv, text, capsys):
    assert text in _error(["sharpness", "predict", *argv], capsys)


def test_phase_sam_edge_and_eos(tmp_path, capsys):
    assert cli.main(["phase", "eos", "--steps", "400", "--out", str(tmp_path / "e"), "--no-progress"]) == 0
    assert cli.main(["phase", "sam-edge", "--steps", "300", "--lr-min", "0.3", "--lr-max", "0.6",
                     "--resolution", "3", "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    assert (tmp_path / "e.png").exists() and (tmp_path / "s.png").exists()
