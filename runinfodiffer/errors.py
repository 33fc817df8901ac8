"""Errors that end a command with a plain message instead of a traceback.

Each carries the exit status of the CLI (2, "trouble", as diff(1)) and the HTTP status
of the web interface's response.
"""


class RunInfoDifferError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_status = 2
    http_status = 500


class UsageError(RunInfoDifferError):
    """Invalid input: a run number, a partition name, an option."""

    http_status = 400


class ConfigError(RunInfoDifferError):
    """A configuration or parameter file that cannot be used."""


class RunNotFound(RunInfoDifferError):
    """A run with no HCAL or Level-0 records in RunInfo."""

    http_status = 404


class DatabaseUnavailable(RunInfoDifferError):
    """The database cannot be reached, is locked, or lacks the RunInfo tables."""

    http_status = 503
