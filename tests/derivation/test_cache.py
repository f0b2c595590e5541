"""On-disk cache of derivations: a fresh process reads the sympy results instead of re-deriving."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import json, sys
import sympy as sp
import hdlimits as hd
from hdlimits.derivation.engine import c
d = hd.derive(hd.ClippedSGD(lr=1.0, clip=1.0), hd.noise.parse(sys.argv[1]))
fa, fb, par = d.compiled({c: 0.7})
print(json.dumps({"from_cache": d.from_cache, "kind": d.kind, "a": sp.srepr(d.a), "b": sp.srepr(d.b),
                  "fa": fa(0.5, par), "fb": fb(0.5, par)}))
"""


def _run(noise, env):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, noise], env=env, capture_output=True, text=True,
                         check=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("HDLIMITS_CACHE_DIR", str(tmp_path))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_second_process_reads_the_derivation_from_disk(tmp_path, monkeypatch):
    env = _env(tmp_path, monkeypatch)
    first = _run("gaussian:std=0.5", env)
    second = _run("gaussian:std=0.5", env)
    assert first["from_cache"] is False and second["from_cache"] is True
    assert second["kind"] == first["kind"] == "closed form"
    assert second["a"] == first["a"] and second["b"] == first["b"]      # identical sympy expressions
    assert second["fa"] == first["fa"] and second["fb"] == first["fb"]
    assert len(list((tmp_path / "derive" / "derivations").glob("*.json"))) == 1
    # another noise law is another key
    third = _run("gaussian:std=0.6", env)
    assert third["from_cache"] is False


def test_stale_cache_entry_is_rederived(tmp_path, monkeypatch):
    env = _env(tmp_path, monkeypatch)
    first = _run("rademacher:std=0.5", env)
    for f in (tmp_path / "derive").glob("hdl_*.py"):   # the generated modules disappear
        f.unlink()
    again = _run("rademacher:std=0.5", env)
    assert again["from_cache"] is False and again["fa"] == first["fa"]
    rec = next((tmp_path / "derive" / "derivations").glob("*.json"))
    assert json.loads(rec.read_text())["a"]["module"].startswith("hdl_")   # the record names its module
    rec.write_text("{not json")                  # a corrupt record is ignored, not an error
    assert _run("rademacher:std=0.5", env)["from_cache"] is False
