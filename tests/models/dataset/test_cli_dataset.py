"""``hdlimits compare --dataset`` (docs/datasets.md §8)."""
import numpy as np
import pytest

from hdlimits.cli.dataset import load_table
from hdlimits.cli.main import main


def _write(tmp_path):
    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((120, 6)))
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(120)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    header = ",".join([f"a{i}" for i in range(6)] + ["label"])
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, y]), delimiter=",", header=header, comments="")
    return X, y


def test_load_table_npz_and_csv(tmp_path):
    X, y = _write(tmp_path)
    Xn, yn = load_table(str(tmp_path / "d.npz"), None)
    Xc, yc = load_table(str(tmp_path / "d.csv"), "label")
    assert np.array_equal(Xn, X) and np.array_equal(yn, y)
    assert np.allclose(Xc, X, rtol=1e-15) and np.allclose(yc, y, rtol=1e-15)
    with pytest.raises(ValueError, match="--target 'nope' is not a column"):
        load_table(str(tmp_path / "d.csv"), "nope")
    with pytest.raises(ValueError, match="--target is required"):
        load_table(str(tmp_path / "d.csv"), None)


def test_compare_dataset_runs(tmp_path, capsys):
    _write(tmp_path)
    rc = main(["compare", "--dataset", str(tmp_path / "d.npz"), "--features", "relu:16", "--lr", "0.5",
               "--t-max", "2", "--runs", "4", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "d.npz, relu:16" in out


def test_moments_option_chooses_the_limit(tmp_path, capsys):
    """--moments gaussian gives the Gaussian limit of the same K (a different curve than the default data
    moments); it needs --dataset and is refused by simulate."""
    _write(tmp_path)
    base = ["predict", "--dataset", str(tmp_path / "d.npz"), "--features", "relu:16", "--lr", "0.5",
            "--t-max", "2", "--n-times", "3"]
    assert main(base) == 0
    data = capsys.readouterr().out
    assert main(base + ["--moments", "gaussian"]) == 0
    gauss = capsys.readouterr().out
    last = lambda text: [ln.split() for ln in text.splitlines() if ln.split()[:1] == ["2"]][-1]
    assert last(data) != last(gauss)
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--d", "50", "--t-max", "1", "--moments", "data"])
    assert exc.value.code == 2 and "--moments applies only with --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--dataset", str(tmp_path / "d.npz"), "--moments", "data", "--t-max", "1"])
    assert exc.value.code == 2 and "--moments" in capsys.readouterr().err
