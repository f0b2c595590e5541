"""``hdlimits predict / simulate / compare`` (hdlimits.cli.commands), called in-process with small problems."""
import json
import sys
import textwrap

import numpy as np
import pytest

from hdlimits import cli
from hdlimits.cli import registry

SMALL = ["--d", "200", "--t-max", "2", "--n-times", "11"]
SIM = ["--runs", "2", "--workers", "1", "--no-progress"]


def _data_lines(text):
    return [ln for ln in text.splitlines() if not ln.startswith("#")]


def test_predict_prints_and_writes(tmp_path, capsys):
    csv_path, json_path = tmp_path / "p.csv", tmp_path / "p.json"
    code = cli.main(["predict", *SMALL, "--alpha", "0.8", "--lr", "1.2", "--csv", str(csv_path),
                     "--json", str(json_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "power_law(d=200, alpha=0.8, beta=1)" in out and "SGD(lr=1.2, batch=1)" in out
    assert "status ok" in out and "excess_risk" in out
    lines = _data_lines(csv_path.read_text())
    assert lines[0] == "t,risk,excess_risk" and len(lines) == 12
    row = [float(x) for x in lines[1].split(",")]
    assert row[0] == 0.0 and row[1] == pytest.approx(0.5 + 0.045) and row[2] == pytest.approx(0.5)
    data = json.loads(json_path.read_text())
    assert data["metadata"]["status"] == "ok" and len(data["t"]) == 11
    assert data["t"][-1] == pytest.approx(2.0)


def test_simulate_csv_and_plot(tmp_path, capsys):
    csv_path, png = tmp_path / "s.csv", tmp_path / "s.png"
    code = cli.main(["simulate", *SMALL, *SIM, "--problem", "isotropic", "--lr", "0.5",
                     "--noise", "student_t:df=5,scale=0.2", "--csv", str(csv_path), "--plot", str(png)])
    assert code == 0
    out = capsys.readouterr().out
    assert "isotropic(d=200)" in out and "2 runs" in out and "student_t" in out
    lines = _data_lines(csv_path.read_text())
    assert lines[0].split(",") == ["t", "risk", "excess_risk", "risk_stderr", "excess_risk_stderr"]
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_compare_all_outputs(tmp_path, capsys):
    c, j, p = tmp_path / "c.csv", tmp_path / "c.json", tmp_path / "c.png"
    code = cli.main(["compare", "--problem", "power-law", *SMALL, "--alpha", "0.8", "--optimizer",
                     "sgd", "--lr", "1.2", *SIM, "--csv", str(c), "--json", str(j), "--plot", str(p)])
    assert code == 0
    out = capsys.readouterr().out
    assert "compare excess_risk" in out and "max |relative gap|" in out and "rms z" in out
    header = _data_lines(c.read_text())[0].split(",")
    assert header[:3] == ["t", "theory_risk", "theory_excess_risk"] and header[-3:] == ["gap",
                                                                                       "rel_gap", "z"]
    data = json.loads(j.read_text())
    assert data["summary"]["quantity"] == "excess_risk" and data["summary"]["runs"] == 2
    assert data["summary"]["theory_status"] == "ok"
    assert len(data["curves"]["sim"]["risk_stderr"]) == 11
    assert p.stat().st_size > 10_000


def test_compare_precond_schedule_logtimes(capsys):
    code = cli.main(["compare", *SMALL, *SIM, "--optimizer", "precond", "--preconditioner", "sqrt",
                     "--lr", "1.0", "--schedule", "cosine", "--final-lr", "0.1", "--log-times",
                     "--quantity", "risk", "--batch", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "PreconditionedSGD" in out and "preconditioner=sqrt" in out and "cosine(1, 2)" in out
    assert "compare risk" in out


def test_divergence_is_a_status_not_an_error(capsys):
    code = cli.main(["compare", "--problem", "isotropic", "--d", "200", "--t-max", "3",
                     "--n-times", "7", *SIM, "--lr", "5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "theory status: diverged at t=" in out
    assert "simulation status: diverged at t=" in out


def test_times_are_whole_steps():
    ns = cli.build_parser().parse_args(["predict", "--d", "30", "--t-max", "1", "--n-times", "7"])
    t = cli.build_times(ns, 30)
    np.testing.assert_allclose(t * 30, np.round(t * 30), atol=1e-9)
    assert t[0] == 0 and t[-1] == pytest.approx(1.0)
    ns = cli.build_parser().parse_args(["predict", "--t-max", "100", "--n-times", "5", "--log-times"])
    t = cli.build_times(ns, 1000)
    assert t[0] == 0 and t[1] == pytest.approx(0.1) and t[-1] == pytest.approx(100.0)


def test_schedules_map_onto_hdlimits_schedules():
    from hdlimits.core import schedules as sch

    def sched(*extra):
        return cli.build_schedule(cli.build_parser().parse_args(["predict", "--lr", "2", *extra]))

    assert sched() == 2.0
    assert sched("--schedule", "warmup", "--warmup-time", "3") == sch.linear_warmup(2, 3)
    assert sched("--schedule", "step", "--milestones", "1,4", "--decay-factor", "0.5") == \
        sch.step(2, [1, 4], 0.5)
    assert sched("--schedule", "power", "--t0", "2", "--power", "0.5") == sch.power_decay(2, 2, 0.5)
    assert sched("--schedule", "cosine", "--t-max", "7") == sch.cosine(2, 7)
    assert sched("--schedule", "cosine", "--cosine-time", "5") == sch.cosine(2, 5)


@pytest.mark.parametrize("argv, message", [
    (["predict", "--d", "0"], "d must be an integer"),
    (["predict", "--lr", "-1"], "lr must lie in"),
    (["predict", "--noise", "cauchy:scale=1"], "noise law must be one of"),
    (["predict", "--noise", "student_t:df=1.5"], "no finite second moment"),
    (["predict", "--schedule", "step"], "--schedule step needs --milestones"),
    (["predict", "--milestones", "1,2"], "--milestones applies only to --schedule step"),
    (["predict", "--preconditioner", "diag"], "--preconditioner applies only to --optimizer precond"),
    (["predict", "--problem", "isotropic", "--alpha", "1"], "--alpha applies only to"),
    (["predict", "--t-max", "0"], "--t-max must be a time in (0, inf)"),
    (["predict", "--t-min", "1"], "--t-min applies only with --log-times"),
    (["predict", "--csv", "/nonexistent_dir_hdl/x.csv"], "does not exist"),
    (["predict", "--plot", "figure.xyz"], "--plot: the file suffix"),
    (["simulate", "--d", "50", "--t-max", "1", "--runs", "0"], "runs must be an integer"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hdlimits: error:") and message in err
    assert len(err.splitlines()) == 1


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "--optimizer", "lbfgs"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["predict", "--help"], ["simulate", "--help"],
                                  ["compare", "--help"]])
def test_help_states_conventions(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "t = steps/d" in out and "γ/d" in out and "noise floor" in out
    if argv != ["--help"]:
        assert "--initial-size" in out and "‖K^½ e_0‖²" in out


# ------------------------------------------------------------------ extension points

def test_register_optimizer_with_its_own_option(monkeypatch, capsys):
    from hdlimits.optimizers import SGD
    monkeypatch.setattr(registry, "OPTIMIZERS", dict(registry.OPTIMIZERS))
    monkeypatch.setattr(registry, "OPTIMIZER_HELP", dict(registry.OPTIMIZER_HELP))
    monkeypatch.setattr(registry, "OPTIMIZER_ARGUMENTS", list(registry.OPTIMIZER_ARGUMENTS))
    monkeypatch.setattr(registry, "OPTION_OWNERS", {k: set(v) for k, v in registry.OPTION_OWNERS.items()})

    def add(group):
        group.add_argument("--lr-scale", type=float, default=None, help="halfsgd: scale of lr")

    def build(args, lr):
        return SGD(lr=lr * (0.5 if args.lr_scale is None else args.lr_scale), batch=args.batch)

    registry.register_optimizer("halfsgd", build, add, help="SGD at a scaled lr", options=["lr_scale"])
    assert cli.main(["predict", *SMALL, "--optimizer", "halfsgd", "--lr", "1.0"]) == 0
    assert "SGD(lr=0.5" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", *SMALL, "--lr-scale", "0.3"])
    assert exc.value.code == 2
    assert "--lr-scale applies only to --optimizer halfsgd" in capsys.readouterr().err


def test_register_problem_with_its_own_option(monkeypatch, capsys):
    """A family adds a --problem without touching the command modules; its option is refused elsewhere."""
    from hdlimits.models.least_squares.problem import Problem
    monkeypatch.setattr(registry, "PROBLEMS", dict(registry.PROBLEMS))
    monkeypatch.setattr(registry, "PROBLEM_HELP", dict(registry.PROBLEM_HELP))
    monkeypatch.setattr(registry, "PROBLEM_ARGUMENTS", list(registry.PROBLEM_ARGUMENTS))
    monkeypatch.setattr(registry, "PROBLEM_OPTION_OWNERS",
                        {k: set(v) for k, v in registry.PROBLEM_OPTION_OWNERS.items()})

    def add(group):
        group.add_argument("--steep", type=float, default=None, help="steep: the exponent")

    def build(args, noise):
        return Problem.power_law(args.d, 2.0 if args.steep is None else args.steep, 1.0, noise=noise,
                                 initial_size=args.initial_size, seed=args.problem_seed)

    registry.register_problem("steep", build, add, help="a steep power law", options=["steep"])
    assert cli.main(["predict", *SMALL, "--problem", "steep", "--steep", "1.5"]) == 0
    assert "power_law(d=200, alpha=1.5, beta=1)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", *SMALL, "--steep", "1.5"])
    assert exc.value.code == 2
    assert "--steep applies only to --problem steep (got --problem power-law)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", *SMALL, "--problem", "steep", "--alpha", "1"])
    assert "--alpha applies only to --problem power-law" in capsys.readouterr().err


def _write_module(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))


def test_extra_commands(tmp_path, monkeypatch, capsys):
    _write_module(tmp_path, "hdl_fake_cli", """
        def add_cli(subparsers):
            p = subparsers.add_parser("hello", help="say hello")
            p.add_argument("--name", default="world")
            p.set_defaults(func=lambda args: print("hello", args.name))
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "EXTRA_COMMAND_MODULES",
                        ["hdlimits.no_such_cli", "no_such_package.cli", "hdl_fake_cli"])
    assert cli.main(["hello", "--name", "d"]) == 0
    assert capsys.readouterr().out.strip() == "hello d"


def test_broken_extra_command_module_raises(tmp_path, monkeypatch):
    _write_module(tmp_path, "hdl_broken_cli", """
        import hdl_module_that_does_not_exist
        def add_cli(subparsers):
            pass
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "EXTRA_COMMAND_MODULES", ["hdl_broken_cli"])
    with pytest.raises(ModuleNotFoundError, match="hdl_module_that_does_not_exist"):
        cli.main(["predict", "--help"])
    sys.modules.pop("hdl_broken_cli", None)


def _table(text, width=3):
    rows = []
    for ln in text.splitlines():
        parts = ln.split()
        try:
            rows.append([float(x) for x in parts])
        except ValueError:
            continue
    return np.array([r for r in rows if len(r) == width])


def test_clipped_with_a_huge_threshold_is_sgd(capsys):
    """C far above every gradient norm: the clipped limit must print the SGD limit (a = 1, b = P + E ε²,
    and the finite-d coefficient h(P) = 2ν_c'(P) → 2 = SGD's 1 + 1/B; docs/clipping.md §10), so the
    reference is SGD's own mode system."""
    import hdlimits as hd

    assert cli.main(["predict", *SMALL, "--lr", "0.8", "--noise", "gaussian:std=0.3",
                     "--optimizer", "clipped", "--clip", "1e6"]) == 0
    out = capsys.readouterr().out
    assert "ClippedSGD(lr=0.8, clip=1000000.0)" in out
    clipped = _table(out)
    t = np.linspace(0, 2, 11)
    ref = hd.predict_risk(hd.Problem.power_law(200, 1.0, 1.0, noise=hd.noise.gaussian(0.3)), hd.SGD(lr=0.8), t)
    assert clipped.shape == (11, 3)
    np.testing.assert_allclose(clipped[:, 0], t, atol=1e-12)
    np.testing.assert_allclose(clipped[:, 1], ref.risk, rtol=1e-5)          # 6 printed digits
    np.testing.assert_allclose(clipped[:, 2], ref.excess_risk, rtol=1e-5)


def test_clipped_kappa_and_normalized(capsys):
    assert cli.main(["predict", *SMALL, "--optimizer", "clipped", "--clip-kappa", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "risk_adaptive(kappa=1.5)" in out and "status ok" in out
    assert cli.main(["simulate", *SMALL, *SIM, "--optimizer", "normalized", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "NormalizedSGD(lr=0.5)" in out
    # columns t, risk, SE, excess risk, SE: the excess risk falls from 0.5 by many standard errors
    tab = _table(out, width=5)
    assert tab[0, 3] == pytest.approx(0.5) and tab[-1, 3] + 5 * tab[-1, 4] < 0.5


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "clipped"], "exactly one of --clip"),
    (["--optimizer", "clipped", "--clip", "1", "--clip-kappa", "1"], "exactly one of --clip"),
    (["--optimizer", "clipped", "--clip", "-1"], "clip"),
    (["--optimizer", "sgd", "--clip", "1"], "--clip applies only to --optimizer clipped"),
    (["--optimizer", "normalized", "--clip-kappa", "1"], "--clip-kappa applies only"),
    (["--optimizer", "clipped", "--clip", "1", "--batch", "2"], "batch = 2: the clipped-SGD limit"),
])
def test_clipped_option_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", *SMALL, *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
