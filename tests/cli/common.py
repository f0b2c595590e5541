"""Helpers shared by the command-line tests."""
import pytest

from hdlimits import cli


def one_line_error(argv, capsys, code=2):
    """Run ``hdlimits ARGV``, expect exit ``code`` and exactly one line on stderr; return that line."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == code, err
    assert len(err.splitlines()) == 1, err
    if code == 2:
        assert err.startswith("hdlimits: error:"), err
    return err
