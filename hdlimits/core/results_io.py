"""Reading and writing results: CSV columns and the JSON document of :mod:`hdlimits.core.results`
(docs/results.md, "JSON format")."""
from __future__ import annotations

import csv
import io

import numpy as np

from hdlimits.core import jsonfmt
from hdlimits.core.status import Status

__all__ = ["columns_csv", "to_dict", "from_dict", "package_version", "FORMAT", "FORMAT_VERSION"]

FORMAT = "hdlimits.result"
FORMAT_VERSION = 1


def columns_csv(comments, cols: dict, path=None) -> str:
    """CSV text of named columns (one row per time) after ``# comment`` lines; written to ``path`` if
    given. Numbers keep full precision (``repr``); non-finite ones are ``inf``, ``-inf``, ``nan``."""
    buf = io.StringIO()
    for line in comments:
        buf.write(f"# {line}\n")
    w = csv.writer(buf)
    w.writerow(list(cols))
    for row in zip(*(np.asarray(c, dtype=np.float64) for c in cols.values())):
        w.writerow([repr(float(x)) for x in row])
    return jsonfmt.write(buf.getvalue(), path)


def package_version() -> str:
    """``hdlimits.__version__`` (read when called, so that importing this module imports nothing)."""
    try:
        import hdlimits
        return str(hdlimits.__version__)
    except (ImportError, AttributeError):  # pragma: no cover - partially initialised package
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("hdlimits")
        except PackageNotFoundError:
            return "unknown"


def to_dict(res, state: bool = False) -> dict:
    """The JSON document of a result (arrays still numpy; :func:`hdlimits.core.jsonfmt.dumps` writes
    it)."""
    out = {"format": FORMAT, "format_version": FORMAT_VERSION, "hdlimits_version": package_version(),
           "type": type(res).__name__, "method": res.method, "status": res.status.to_dict(),
           "warnings": list(res.warnings), "problem": res.problem_description,
           "optimizer": res.optimizer_description, "metadata": res.metadata(), "info": dict(res.info),
           "t": res.t, "observables": dict(res.observables)}
    if state and res.state:
        out["state"] = {k: v for k, v in res.state.items() if v is not None}
    if hasattr(res, "runs_of"):
        out["simulation"] = {"runs": res.runs, "seed": _seed_out(res.seed), "data": res.data,
                             "diverged_runs": res.diverged_runs,
                             "runs_data": {k: v for k, v in res._runs.items() if v is not None},
                             "stderr": {k: v for k, v in res._stderr.items() if v is not None}}
    return out


def _info(d: dict) -> dict:
    return {k: (jsonfmt.NONFINITE[v] if isinstance(v, str) and v in jsonfmt.NONFINITE else v)
            for k, v in d.items()}


def from_dict(data: dict, classes: dict):
    """The result of a :func:`to_dict` document read back from JSON (``classes``: type name → class)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not an hdlimits result document (its 'format' must be {FORMAT!r})")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"result format_version {data['format_version']} is newer than this hdlimits "
                         f"reads ({FORMAT_VERSION}); upgrade hdlimits")
    kind = data.get("type")
    if kind not in classes:
        raise ValueError(f"unknown result type {kind!r}; known: {', '.join(classes)}")
    arrays = {k: jsonfmt.float_array(v) for k, v in data.get("observables", {}).items()}
    common = dict(t=jsonfmt.float_array(data["t"]), observables=arrays,
                  status=Status.from_dict(data["status"]), method=data.get("method", ""),
                  info=_info(data.get("info", {})), warnings=data.get("warnings", []),
                  state={k: jsonfmt.float_array(v) for k, v in data.get("state", {}).items()})
    sim = data.get("simulation")
    if sim is not None:
        res = classes[kind](runs=sim["runs"], seed=_seed_in(sim.get("seed")), data=sim.get("data", "gaussian"),
                            diverged_runs=sim.get("diverged_runs", 0),
                            runs_data={k: jsonfmt.float_array(v) for k, v in sim["runs_data"].items()},
                            stderrs={k: jsonfmt.float_array(v) for k, v in sim["stderr"].items()},
                            **common)
    else:
        res = classes[kind](**common)
    res._desc.update(problem=data.get("problem"), optimizer=data.get("optimizer"))
    return res


def _seed_out(seed):
    """A seed for JSON: an int as is; a spawned SeedSequence as its entropy and spawn key."""
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key), "pool_size": seed.pool_size}
    return seed


def _seed_in(seed):
    if isinstance(seed, dict) and "entropy" in seed:
        return np.random.SeedSequence(seed["entropy"], spawn_key=tuple(seed.get("spawn_key", ())),
                                      pool_size=seed.get("pool_size", 4))
    return seed
