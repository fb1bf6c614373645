"""Error hierarchy: every expected failure is a PersonaLensError whose message says
what was wrong, what was expected and what to do. Anything else is a bug."""

from __future__ import annotations


class PersonaLensError(Exception):
    """Base class of errors that are shown to the analyst as a message, not a traceback."""


class DataError(PersonaLensError):
    """The input data cannot be used as it is (empty, unreadable, wrong columns...)."""


class ConfigError(PersonaLensError):
    """A setting or a column mapping is invalid."""


class FileTooLargeError(DataError):
    """The input file is larger than the configured limit."""


class WorkspaceConflictError(PersonaLensError):
    """The workspace was saved by another tab or analyst since this copy was read."""


class ReadOnlyWorkspaceError(PersonaLensError):
    """The workspace is open for viewing only; nothing in it may change."""


class AccessDeniedError(PersonaLensError):
    """The signed-in analyst may not open (or change the sharing of) this workspace."""


class QuotaExceededError(ConfigError):
    """Saving would take the owner's workspaces over their disk quota."""
