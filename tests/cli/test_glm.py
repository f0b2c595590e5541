"""``hdlimits predict|simulate|compare --model …`` (hdlimits.cli.glm): GLM problems on the command line."""
import json

import numpy as np
import pytest

from hdlimits import cli
from tests.cli.common import one_line_error

SMALL = ["--d", "300", "--t-max", "2", "--n-times", "5", "--noise", "none"]
SIM = ["--runs", "4", "--workers", "1", "--no-progress"]


def test_compare_relu_prints_overlaps_and_a_verdict(tmp_path, capsys):
    js, png = tmp_path / "c.json", tmp_path / "c.png"
    code = cli.main(["compare", *SMALL, *SIM, "--model", "relu", "--student-overlap", "0.2",
                     "--student-size", "0.1", "--json", str(js), "--plot", str(png)])
    assert code == 0
    out = capsys.readouterr().out
    assert "relu, power_law" in out and "m = 1, m* = 1" in out
    assert "verdict" in out or "consistent" in out
    data = json.loads(js.read_text())
    assert data["summary"]["quantity"] == "risk"
    assert png.stat().st_size > 10_000


def test_predict_logistic_from_zero(capsys):
    assert cli.main(["predict", *SMALL, "--model", "logistic", "--lr", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "B_11" in out and "B_1*" in out and "status ok" in out
    rows = [ln.split() for ln in out.splitlines() if ln.strip() and ln.split()[0] in ("0", "2")]
    # the student starts at 0: risk = E[log(1 + e⁰) − y·0] = log 2 (printed to 6 digits)
    assert float(rows[0][1]) == pytest.approx(np.log(2.0), rel=1e-6)


def test_model_options_need_a_model(capsys):
    err = one_line_error(["predict", *SMALL, "--student-overlap", "0.3"], capsys)
    assert "--model" in err


def test_bad_model_arguments_name_the_option(capsys):
    err = one_line_error(["predict", *SMALL, "--model", "relu", "--student-size", "-1"], capsys)
    assert "--student-size" in err
    err = one_line_error(["predict", *SMALL, "--model", "logistic", "--noise", "gaussian:std=0.1"], capsys)
    assert "noise" in err
    err = one_line_error(["compare", *SMALL, *SIM, "--model", "relu", "--student-size", "0.1",
                          "--quantity", "excess_risk"], capsys)
    assert "--quantity" in err
