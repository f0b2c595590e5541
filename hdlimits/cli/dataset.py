"""Dataset problems on the command line (docs/datasets.md §8): ``--dataset data.npz|data.csv --target
COLUMN [--features relu:1024]`` replaces ``--problem`` by SGD streaming the rows of the file.

* ``.npz``: the rows are the array ``X`` (n × d) and the labels the array named by ``--target``
  (default ``y``).
* ``.csv``: a header line names the columns; ``--target`` names the label column (required), every other
  column is a feature. All values must be numbers.

``--features KIND:D`` (``relu``, ``tanh``, ``fourier``; e.g. ``relu:1024``) maps the rows through random
features drawn from ``--problem-seed`` (docs/datasets.md §1); without it the columns are used as given.
``--noise`` adds fresh label noise per draw only when given with a value other than its default; the
limit is the data-moment limit (the Gaussian one is ``hd.predict_risk(..., moments="gaussian")`` in
Python).
"""
from __future__ import annotations

import os

import numpy as np

from hdlimits.cli import registry

__all__ = ["dataset_problem", "load_table"]


def _add_dataset_arguments(group):
    group.add_argument("--dataset", default=None, metavar="FILE",
                       help="SGD streaming the rows of a dataset (.npz with arrays X and TARGET, or .csv "
                            "with a header) instead of --problem; docs/datasets.md")
    group.add_argument("--target", default=None, metavar="COLUMN",
                       help="--dataset: the label column (.csv, required) or array (.npz, default y)")
    group.add_argument("--features", default=None, metavar="KIND:D",
                       help="--dataset: random features relu:D, tanh:D or fourier:D[,bandwidth=B] "
                            "(seed --problem-seed; tr K = D); default: the columns as given")
    group.add_argument("--moments", choices=["data", "gaussian"], default=None,
                       help="--dataset, predict and compare: the limit with the data's fourth moments "
                            "(default) or the Gaussian limit of the same K (docs/datasets.md)")


def load_table(path, target):
    """``(X, y)`` from a .npz or .csv file (module docstring)."""
    if not os.path.isfile(path):
        raise ValueError(f"--dataset: no such file {path!r}")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as f:
            target = target or "y"
            for key in ("X", target):
                if key not in f.files:
                    raise ValueError(f"--dataset {path}: the .npz file has no array {key!r} (it has "
                                     f"{', '.join(f.files)}); the rows must be X and the labels --target")
            return np.asarray(f["X"], dtype=np.float64), np.asarray(f[target], dtype=np.float64)
    if ext == ".csv":
        if not target:
            raise ValueError("--target is required with a .csv --dataset: the name of the label column")
        with open(path, encoding="utf-8") as fh:
            header = [h.strip() for h in fh.readline().strip().split(",")]
        if target not in header:
            raise ValueError(f"--target {target!r} is not a column of {path} (columns: {', '.join(header)})")
        try:
            data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        except ValueError as exc:
            raise ValueError(f"--dataset {path}: every value must be a number ({exc})") from None
        if data.shape[1] != len(header):
            raise ValueError(f"--dataset {path}: {data.shape[1]} values per row but {len(header)} column "
                             "names")
        j = header.index(target)
        return np.delete(data, j, axis=1), data[:, j]
    raise ValueError(f"--dataset must be a .npz or .csv file, got {path!r}")


def dataset_problem(args):
    """The dataset problem of ``--dataset`` (or None when it is not given)."""
    path = getattr(args, "dataset", None)
    target, feats = getattr(args, "target", None), getattr(args, "features", None)
    if path is None:
        if target is not None or feats is not None:
            raise ValueError("--target and --features apply only with --dataset")
        return None
    from hdlimits.cli.arguments import DEFAULT_NOISE
    from hdlimits.core.noise import parse as parse_noise
    from hdlimits.models.dataset.features import parse as parse_features
    from hdlimits.models.dataset.problem import DatasetProblem
    X, y = load_table(path, target)
    label = os.path.basename(path)
    if feats is not None:
        fmap = parse_features(feats, seed=int(args.problem_seed))
        X = fmap(X)
        label += f", {fmap.spec()}"
    noise = parse_noise(args.noise, "--noise") if args.noise != DEFAULT_NOISE else None
    return DatasetProblem.from_dataset(X, y, noise=noise, label=label)


registry.PROBLEM_ARGUMENTS.append(_add_dataset_arguments)
