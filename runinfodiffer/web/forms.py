"""Query parsing and validation for the web interface.

The query keeps the parameter names of the established CGI script: `runnumber1`,
`runnumber2` and `partition` (repeated). Every check raises UsageError with a message
that the error page shows next to the form, so the app responds with 400.
"""

from __future__ import annotations

from typing import Dict, List, Optional
from urllib.parse import parse_qs

from ..errors import UsageError
from ..schema import MAX_RUN_NUMBER

#: Values of `view` for a diff: the default summary with previews, the side-by-side diff.
#: `view=raw` is a route of its own (see app.dispatch).
DIFF_VIEWS = ("truncated", "complete")
#: Values of `format` for a diff; `atom` is accepted on the change log only.
DIFF_FORMATS = ("html", "json", "text")
#: Values of `page`; no `page` means the diff, or the form when no run is given.
PAGES = ("changes", "runs", "status", "history")

Params = Dict[str, List[str]]


def parse_query(query_string: str) -> Params:
    """Decode a WSGI QUERY_STRING into lists of values, text as UTF-8.

    PEP 3333 hands over the raw bytes as a latin-1 `str`. Re-encoding restores the
    bytes, so both percent-escaped and raw UTF-8 bytes decode to the same text.
    Invalid UTF-8 becomes U+FFFD rather than an error.
    """
    raw = query_string.encode("latin-1", "replace").decode("utf-8", "replace")
    return parse_qs(raw, keep_blank_values=True, encoding="utf-8", errors="replace")


def first(params: Params, name: str, default: Optional[str] = None) -> Optional[str]:
    """Return the first value of `name`, stripped, or `default` when absent."""
    values = params.get(name)
    return values[0].strip() if values else default


def choice(params: Params, name: str, allowed: tuple, default: str) -> str:
    """Return the value of `name` if it is one of `allowed`; raise UsageError otherwise."""
    value = first(params, name) or default
    if value not in allowed:
        raise UsageError(f"invalid {name} {value!r}: use one of {', '.join(allowed)}")
    return value


def parse_run_number(params: Params, name: str, label: str) -> int:
    """Return the run number in `name`; raise UsageError when missing or not a non-negative integer."""
    value = first(params, name)
    if not value:
        raise UsageError(f"{label} is missing: enter a run number such as 330012")
    if not value.isdigit() or not value.isascii():
        raise UsageError(f"{label} must be a non-negative integer, got {value!r}")
    if int(value) > MAX_RUN_NUMBER:
        raise UsageError(f"{label} {value} is too large: the maximum run number is {MAX_RUN_NUMBER}")
    return int(value)


class DiffQuery:
    """A validated request for the diff of two runs.

    `partitions` are catalog spellings in the order given, all catalog partitions when
    none was given; `view` is "truncated" or "complete"; `format` one of DIFF_FORMATS.
    """

    __slots__ = ("run1", "run2", "partitions", "view", "format")

    def __init__(self, run1: int, run2: int, partitions: List[str], view: str = "truncated", format: str = "html"):
        self.run1 = run1
        self.run2 = run2
        self.partitions = partitions
        self.view = view
        self.format = format


def parse_diff_query(params: Params, catalog) -> DiffQuery:
    """Validate runs, partitions, view and format of a diff request."""
    run1 = parse_run_number(params, "runnumber1", "run number 1")
    run2 = parse_run_number(params, "runnumber2", "run number 2")
    names = [name.strip() for name in params.get("partition", []) if name.strip()]
    partitions = catalog.resolve_partitions(names)
    view = choice(params, "view", DIFF_VIEWS, "truncated")
    output = choice(params, "format", DIFF_FORMATS, "html")
    return DiffQuery(run1, run2, partitions, view, output)


class RawQuery:
    """A validated request for one stored value: run, partition and parameter."""

    __slots__ = ("run", "partition", "parameter")

    def __init__(self, run: int, partition: str, parameter: str):
        self.run = run
        self.partition = partition
        self.parameter = parameter


def parse_raw_query(params: Params, catalog) -> RawQuery:
    """Validate a raw-value request against the catalog."""
    run = parse_run_number(params, "run", "run")
    name = first(params, "partition")
    if not name:
        raise UsageError("partition is missing: the raw view needs run, partition and parameter")
    partition = catalog.resolve_partitions([name])[0]
    parameter = first(params, "parameter")
    if not parameter:
        raise UsageError("parameter is missing: the raw view needs run, partition and parameter")
    if partition not in catalog.parameters.get(parameter, []):
        raise UsageError(f"parameter {parameter!r} is not in the catalog for {partition}")
    return RawQuery(run, partition, parameter)


def parse_before(params: Params) -> Optional[int]:
    """Return the `before` run number of the run list, or None for the newest page."""
    if first(params, "before") in (None, ""):
        return None
    return parse_run_number(params, "before", "before")
