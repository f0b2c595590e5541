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
