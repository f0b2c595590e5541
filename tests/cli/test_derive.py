"""``hdlimits derive`` (hdlimits.cli.derive): the printed coefficients against textbook forms (docs/clipping.md §2) and input checks."""
import math

import pytest
from scipy import stats

from hdlimits import cli


def _rows(out):
    rows = []
    for ln in out.splitlines():
        try:
            rows.append([float(x) for x in ln.split()])
        except ValueError:
            pass
    return [r for r in rows if len(r) == 3]


def test_sgd_gaussian(capsys):
    assert cli.main(["derive", "sgd", "--noise", "gaussian:std=0.5", "--at", "2"]) == 0
    out = capsys.readouterr().out
    assert "kind:        closed form" in out
    assert "a(P) = E[h'(r)]  = 1" in out and "b(P) = E[h(r)^2] = P + 1/4" in out
    assert _rows(out) == [[2.0, 1.0, 2.25]]


def test_clipped_gaussian_values_and_latex(capsys):
    C, d, sigma = 20.0, 400, 0.5
    assert cli.main(["derive", "clipped-sgd", "--noise", f"gaussian:std={sigma}", "--clip", str(C),
                     "--d", str(d), "--latex", "--at", "0.3,2"]) == 0
    out = capsys.readouterr().out
    assert "closed form" in out and "LaTeX:" in out and "\\operatorname{erf}" in out
    assert "c = C/sqrt(d) = 1" in out
    c = C / math.sqrt(d)
    for P, a, b in _rows(out):
        S = math.sqrt(P + sigma ** 2)
        x = c / S
        mu = math.erf(x / math.sqrt(2))
        nu = S * S * (2 * stats.norm.cdf(x) - 1 - 2 * x * stats.norm.pdf(x)) + 2 * c * c * stats.norm.sf(x)
        assert a == pytest.approx(mu, rel=1e-9) and b == pytest.approx(nu, rel=1e-9)


def test_clipped_symbolic_and_student_t(capsys):
    assert cli.main(["derive", "clipped-sgd", "--noise", "gaussian:std=0.5"]) == 0
    out = capsys.readouterr().out
    assert "h(r) = Max(-c, Min(c, r))" in out and "erf(sqrt(2)*c/sqrt(4*P + 1))" in out
    assert cli.main(["derive", "clipped-sgd", "--noise", "student_t:df=3,scale=0.5", "--clip", "10",
                     "--d", "1000", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "kind:        quadrature" in out and "Integral(" in out and "\\int" in out


def test_normalized_rademacher(capsys):
    assert cli.main(["derive", "normalized-sgd", "--noise", "rademacher:std=0.5", "--d", "100",
                     "--at", "1"]) == 0
    out = capsys.readouterr().out
    (P, a, b), = _rows(out)
    # a = √(2/π)·E exp(−ε²/2P)/√(P·T), b = 1/T
    assert a == pytest.approx(math.sqrt(2 / math.pi) * math.exp(-0.125) / 10, rel=1e-9)   # 10 printed digits
    assert b == pytest.approx(0.01, rel=1e-9)


@pytest.mark.parametrize("argv, message", [
    (["clipped-sgd", "--clip", "3"], "give --d"),
    (["clipped-sgd", "--clip", "0", "--d", "10"], "--clip must be"),
    (["sgd", "--clip", "1", "--d", "10"], "--clip applies only to clipped-sgd"),
    (["clipped-sgd", "--at", "1"], "--at needs a value for c"),
    (["normalized-sgd", "--d", "0"], "--d must be"),
    (["sgd", "--noise", "bogus"], "noise law must be"),
])
def test_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["derive", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_at_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["derive", "sgd", "--at", "-1"])
    assert exc.value.code == 2
