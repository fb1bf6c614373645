"""What every page test shares: the app's path, the run timeout and the no-error check."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

#: Seconds one AppTest run may take (a cold start computes the sample's features).
TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def no_errors(at: AppTest) -> None:
    """The run raised nothing and showed no error message."""
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []
