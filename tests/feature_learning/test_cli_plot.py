"""``hdlimits feature-learning`` and fl.plot (docs/feature_learning.md §6)."""

import pytest

from hdlimits import feature_learning as fl
from hdlimits.cli.main import main


def test_cli_writes_table_and_figure(tmp_path, capsys):
    fig = tmp_path / "fl.png"
    code = main(["feature-learning", "--d-x", "12", "--k", "2", "--d-y", "3", "--steps", "5", "--batch", "64",
                 "--runs", "2", "--methods", "sgd,kfac", "--figure", str(fig)])
    assert code == 0
    out = capsys.readouterr().out
    assert "kfac" in out and "sgd" in out and "subspace distance" in out
    assert fig.stat().st_size > 10_000


@pytest.mark.parametrize("argv,word", [(["--k", "20"], "k must"), (["--kappa", "0.5"], "condition_number"),
                                       (["--batch", "0"], "batch"), (["--methods", "sgd,foo"], "method")])
def test_cli_bad_input(argv, word, capsys):
    with pytest.raises(SystemExit):
        main(["feature-learning", "--d-x", "12", "--steps", "2", "--runs", "1"] + argv)
    assert word in capsys.readouterr().err


def test_plot_rejects_empty():
    with pytest.raises(ValueError, match="results"):
        fl.plot({})
