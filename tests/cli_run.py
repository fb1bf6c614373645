"""Run ``python -m core ARGS`` in the test's own process.

A subprocess spends seconds importing pandas, DuckDB and scikit-learn each time; the
entry point is the same (``core.cli.main.main``), and ``tests/core/cli/test_cli.py``
still runs one real subprocess.
"""

from __future__ import annotations

import contextlib
import io
import subprocess


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The exit code and what ``python -m core ARGS`` printed, as a CompletedProcess."""
    from core.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["python", "-m", "core", *args], code,
                                       out.getvalue(), err.getvalue())
