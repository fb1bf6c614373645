"""The command line, one module per sub-command, registered in :mod:`core.cli.main`."""

from core.cli.main import main

__all__ = ["main"]
