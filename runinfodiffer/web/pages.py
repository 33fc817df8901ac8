"""The pages around the diff: recent changes (HTML and Atom), the run list, the poller status."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Tuple

from ..errors import ConfigError
from .context import ATOM, HTML, Request, Response, Services
from .forms import choice, parse_before
from .views import page_context

log = logging.getLogger(__name__)

#: Runs per page of the run list.
RUNS_PER_PAGE = 25

#: Short parameters read for the run list to tell which partitions took part. Reading
#: the whole catalog instead would fetch every large configuration text of 25 runs.
RUN_LIST_PARAMETERS = ("EMPTY_FMS", "FM_URI", "FM_URL", "FM_ROLE", "LOCAL_RUNKEY_SELECTED", "MASKED_RESOURCES")


def changes(request: Request, services: Services) -> Response:
    """Show the change log newest first, as HTML or (`format=atom`) as an Atom feed."""
    from ..changelog import read_entries
    from .rendering import render

    output = choice(request.params, "format", ("html", "atom"), "html")
    path = services.config.change_log
    try:
        entries = read_entries(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"change log {path} cannot be read: {error}") from error
    entries.sort(key=lambda entry: entry.id, reverse=True)

    def diff_url(comparison, absolute: bool = False, **extra: Any) -> str:
        build = request.absolute_url if absolute else request.url
        return build(runnumber1=comparison.run1, runnumber2=comparison.run2,
                     partition=comparison.partitions, **extra)

    if output == "atom":
        base = services.config.web_base_url
        feed = {
            "id": _urn(base, "changes"),
            "updated": entries[0].time if entries else _utc_now(),
            "self_url": request.absolute_url(page="changes", format="atom"),
            "html_url": request.absolute_url(page="changes"),
        }
        items = [
            {"entry": entry, "id": _urn(base, f"run/{entry.run}"), "title": entry_title(entry),
             "links": [diff_url(c, absolute=True) for c in entry.comparisons]}
            for entry in entries
        ]
        return Response(200, render("changes.atom", feed=feed, items=items), ATOM)

    from .matrix import matrix_context

    context = page_context(request, services, entries=entries, diff_url=diff_url, entry_title=entry_title,
                           feed_url=request.url(page="changes", format="atom"),
                           **matrix_context(request, services))
    return Response(200, render("changes.html", **context), HTML)


def entry_title(entry: Any) -> str:
    """Return a change-log entry's summary led by its run, e.g. ``Run 330099: 3 parameters changed ...``.

    The poller writes summaries that start with ``Run N:`` already, and those are
    returned unchanged. Other summaries get that prefix.
    """
    prefix = f"Run {entry.run}:"
    if entry.summary.startswith(prefix):
        return entry.summary
    return f"{prefix} {entry.summary}"


def _urn(base: str, name: str) -> str:
    """Return a stable Atom id: a name-based UUID of the configured base URL and `name`."""
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"{base}#{name}").urn


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def runs(request: Request, services: Services) -> Response:
    """List the latest runs, RUNS_PER_PAGE at a time, with a choice of two to diff."""
    from .rendering import render

    before = parse_before(request.params)
    reader = services.reader
    config = services.config
    numbers = reader.latest_runs(RUNS_PER_PAGE + 1, before)
    shown, older = numbers[:RUNS_PER_PAGE], len(numbers) > RUNS_PER_PAGE

    catalog = services.catalog
    pairs = [(p, n) for p, n in catalog.pairs() if n.upper() in RUN_LIST_PARAMETERS] or catalog.pairs()
    records = reader.read_runs(shown, pairs=pairs) if shown else {}
    rows = []
    for number in shown:
        record = records[number]
        rows.append({
            "run": number,
            "kind": "global" if record.is_global(config.global_marker) else "local",
            "configuration": record.fm_fullpath or "",
            "runkey": record.runkey or "",
            "running": record.reached_running,
            "hcal": record.hcal or "",
            "partitions": [p for p in catalog.partitions if record.took_part(p)],
        })
    context = page_context(request, services, rows=rows,
                           older_url=request.url(page="runs", before=shown[-1]) if older else None,
                           newest_url=request.url(page="runs") if before is not None else None)
    return Response(200, render("runs.html", **context), HTML)


def status(request: Request, services: Services) -> Response:
    """Show the poller's state file: last poll, last run processed, baselines."""
    from .rendering import render

    config = services.config
    state, problem = read_state(config.state)
    heartbeat_age = _age_seconds(state.get("heartbeat")) if state else None
    # Three missed cycles mean the poller is not running, or hangs.
    stale_after = 3 * config.poll_interval
    context = page_context(
        request, services,
        state_path=str(config.state),
        state=state,
        problem=problem,
        baselines=sorted((state or {}).get("baselines", {}).items()),
        heartbeat_age=describe_age(heartbeat_age),
        last_poll_age=describe_age(_age_seconds(state.get("last_poll")) if state else None),
        stale=heartbeat_age is not None and heartbeat_age > stale_after,
        stale_after=stale_after,
    )
    return Response(200, render("status.html", **context), HTML)


def read_state(path) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """Return (state, None), (None, None) when the file does not exist, or (None, problem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"cannot read {path}: {error.strerror}"
    try:
        data = json.loads(text)
    except ValueError as error:
        return None, f"{path} is not valid JSON: {error}"
    if not isinstance(data, dict):
        return None, f"{path} does not contain a JSON object"
    if not isinstance(data.get("baselines", {}), dict):
        data["baselines"] = {}
    return data, None


def _age_seconds(stamp: Optional[str]) -> Optional[float]:
    """Return seconds since the ISO 8601 UTC time `stamp`, or None when it does not parse."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return (datetime.now(timezone.utc) - moment).total_seconds()


def describe_age(seconds: Optional[float]) -> str:
    """Return e.g. ``45 s ago`` or ``3 h 5 min ago``."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s ago"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h {minutes % 60} min ago"
