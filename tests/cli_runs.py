"""Running `circuitc.cli.main` in tests: the exit code and captured output, never a traceback.

    from cli_runs import run, ok, fails
"""

from __future__ import annotations

from circuitc.cli import app as cli


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def ok(capsys, *argv) -> str:
    """Standard output of a command that must succeed."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out


def fails(capsys, *argv, code: int = 2) -> str:
    """Standard error of a command that must exit with `code`."""
    got, out, err = run(capsys, *argv)
    assert got == code, (out, err)
    return err
