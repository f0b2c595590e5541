"""The (problem, optimizer) tables: lookups, LimitNotAvailable, registration by a new family, and the
import structure that keeps optimizers free of model code."""
import ast
import dataclasses
import pathlib

import numpy as np
import pytest

import hdlimits as hd
from hdlimits import reductions
from hdlimits.core.errors import LimitNotAvailable
from hdlimits.optimizers.base import Optimizer
from hdlimits.solvers.modes import ModeSystem

PKG = pathlib.Path(hd.__file__).parent
PROB = hd.Problem.power_law(d=40, alpha=1.0, beta=1.0, noise=hd.noise.gaussian(0.3), seed=0)


@pytest.mark.parametrize("opt", [hd.ClippedSGD(1.0, 5.0, batch=4), hd.NormalizedSGD(0.5, batch=2),
                                 hd.SignSGD(0.5, batch=2), hd.Adam(0.5, batch=3)])
def test_pairs_without_a_limit_raise_limit_not_available(opt):
    with pytest.raises(LimitNotAvailable, match="batch") as info:
        hd.predict_risk(PROB, opt, [0.0, 1.0])
    assert isinstance(info.value, ValueError)           # still caught by `except ValueError`


def test_sgd_heavy_tails_is_limit_not_available_not_bad_input():
    prob = hd.Problem.isotropic(30, noise=hd.noise.student_t(1.5, 0.5))
    with pytest.raises(LimitNotAvailable, match="second moment"):
        hd.predict_risk(prob, hd.SGD(0.5), [0.0, 1.0])


@pytest.mark.parametrize("problem, optimizer, word", [
    (PROB, "sgd", "optimizer"), (PROB, {"lr": 1.0}, "optimizer"), ({"d": 10}, hd.SGD(1.0), "problem"),
    (PROB, hd.SGD, "optimizer")])
def test_wrong_types_name_the_parameter(problem, optimizer, word):
    for call in (lambda: hd.predict_risk(problem, optimizer, [0.0, 1.0]),
                 lambda: hd.simulate(problem, optimizer, [0.0, 1.0], runs=1)):
        with pytest.raises(ValueError, match=f"^{word} must be"):
            call()


def test_a_new_family_registers_without_editing_optimizers():
    @dataclasses.dataclass(frozen=True)
    class HalfSGD(Optimizer):          # an optimizer the least-squares family does not know
        lr: float

    with pytest.raises(LimitNotAvailable, match="HalfSGD"):
        reductions.reduce(PROB, HalfSGD(1.0))

    def limit(problem, optimizer, t_max):
        return dataclasses.replace(reductions.reduce(problem, hd.SGD(optimizer.lr / 2), t_max),
                                   label="half")
    reductions.register_limit(hd.Problem, HalfSGD, limit)
    try:
        t = np.linspace(0, 2, 5)
        got = hd.predict_risk(PROB, HalfSGD(1.0), t)
        want = hd.predict_risk(PROB, hd.SGD(0.5), t)
        np.testing.assert_array_equal(got.risk, want.risk)
        assert isinstance(reductions.reduce(PROB, HalfSGD(1.0)), ModeSystem)
    finally:
        del reductions._LIMITS[(hd.Problem, HalfSGD)]


def test_most_specific_optimizer_class_wins():
    # PreconditionedSGD subclasses SGD and has its own simulator rule
    rule = reductions.sim_rule(PROB, hd.PreconditionedSGD(1.0, "diag"))
    assert rule.precond is not None
    assert reductions.sim_rule(PROB, hd.SGD(1.0)).precond is None


def test_optimizers_describe_the_update_and_nothing_else():
    for cls in (hd.SGD, hd.PreconditionedSGD, hd.ClippedSGD, hd.NormalizedSGD, hd.SignSGD, hd.Adam,
                hd.AdamLimit):
        assert not hasattr(cls, "limit") and not hasattr(cls, "sim_rule")
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def _top_level_imports(path: pathlib.Path):
    """Modules imported at module level (not inside functions) by a source file."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            for alias in node.names:
                out.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("hdlimits")}


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def test_optimizers_import_only_core():
    for path in (PKG / "optimizers").glob("*.py"):
        for mod in _top_level_imports(path):
            assert mod.startswith(("hdlimits.core", "hdlimits.optimizers")), (path.name, mod)


def test_no_import_cycles_between_modules():
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = {m for m in _top_level_imports(path) if m in modules and m != name}
        # `from pkg import sub` names the package too; the package's own __init__ is not a dependency
        # of its submodules' code beyond what it imports itself
        graph[name] = {m for m in deps if not name.startswith(m + ".")}
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2
    for n in graph:
        if n not in state:
            visit(n)
