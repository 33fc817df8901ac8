"""The history page: the runs in which one parameter changed, each linked to its diff.

``page=history&parameter=NAME[&partition=P ...][&from=R1][&to=R2][&global_only=0|1]``

- `parameter` is a catalog parameter (matched without regard to case), because the
  history links to diffs, and diffs cover the catalog only.
- `partition` repeats; without it the history covers every partition the catalog lists
  for the parameter. A step found in several partitions is shown once.
- `to` defaults to the latest HCAL run, `from` to `to` minus DEFAULT_RUNS plus one, so
  the page shows the last 200 run numbers. A range may span at most MAX_RUNS numbers.
- `global_only` defaults to 1: local runs (pedestal, LED, laser) run other
  configurations, so with them every global run would look like a change.

The page costs one query per 1,000 run numbers (see `history.read_series`), plus one
for the latest run when `to` is missing.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional

from ..errors import RunNotFound, UsageError
from .context import HTML, Request, Response, Services
from .forms import Params, choice, first, parse_run_number
from .views import page_context

log = logging.getLogger(__name__)

#: Run numbers shown when the request gives no `from`.
DEFAULT_RUNS = 200
#: Widest range a request may ask for: 20 queries of 1,000 run numbers.
MAX_RUNS = 20000
#: Values up to this many characters on one line are shown inline as "old -> new".
INLINE_CHARS = 120


class HistoryQuery:
    """A validated history request. `first` is None until the default range is resolved."""

    __slots__ = ("parameter", "partitions", "first", "last", "global_only", "explicit_last")

    def __init__(self, parameter: str, partitions: List[str], first: Optional[int], last: Optional[int],
                 global_only: bool):
        self.parameter = parameter
        self.partitions = partitions
        self.first = first
        self.last = last
        self.global_only = global_only
        self.explicit_last = last is not None


def parse_history_query(params: Params, catalog) -> HistoryQuery:
    """Validate parameter, partitions, run range and `global_only`; raise UsageError on bad input."""
    name = first(params, "parameter")
    if not name:
        raise UsageError("parameter is missing: the history needs a parameter name such as CFGDOC_TXT")
    parameter = _catalog_parameter(catalog, name)

    names = [value.strip() for value in params.get("partition", []) if value.strip()]
    listed = catalog.parameters[parameter]
    partitions = catalog.resolve_partitions(names) if names else list(listed)
    for partition in partitions:
        if partition not in listed:
            raise UsageError(f"parameter {parameter} is not in the catalog for {partition}: "
                             f"it is diffed for {', '.join(listed)}")

    run_from = _optional_run(params, "from")
    run_to = _optional_run(params, "to")
    if run_from is not None and run_to is not None:
        _check_range(run_from, run_to)
    global_only = choice(params, "global_only", ("1", "0"), "1") == "1"
    return HistoryQuery(parameter, partitions, run_from, run_to, global_only)


def _catalog_parameter(catalog, name: str) -> str:
    """Return the catalog spelling of parameter `name`; raise UsageError when it is not listed."""
    wanted = name.upper()
    for parameter in catalog.parameters:
        if parameter.upper() == wanted:
            return parameter
    raise UsageError(f"parameter {name!r} is not in the catalog: use one of {', '.join(catalog.parameters)}")


def _optional_run(params: Params, name: str) -> Optional[int]:
    """Return the run number in `name`, or None when it is absent or empty (an empty form field)."""
    if not first(params, name):
        return None
    return parse_run_number(params, name, name)


def _check_range(run_from: int, run_to: int) -> None:
    if run_from > run_to:
        raise UsageError(f"from {run_from} is above to {run_to}: give the older run first")
    if run_to - run_from + 1 > MAX_RUNS:
        raise UsageError(f"runs {run_from} to {run_to} span {run_to - run_from + 1:,} run numbers: "
                         f"the history reads at most {MAX_RUNS:,}, so narrow the range")


def resolve_range(query: HistoryQuery, latest_run) -> None:
    """Fill in the default `to` (the latest HCAL run, from `latest_run()`) and `from`."""
    if query.last is None:
        latest = latest_run()
        if latest is None:
            raise RunNotFound("no HCAL run found in RunInfo, so there is no history to show")
        query.last = latest if query.first is None else max(latest, query.first)
    if query.first is None:
        query.first = max(0, query.last - DEFAULT_RUNS + 1)
    _check_range(query.first, query.last)


def history(request: Request, services: Services) -> Response:
    """Read the parameter in every run of the range and list the runs where it changed."""
    from ..history import history_steps, read_series
    from .rendering import render

    query = parse_history_query(request.params, services.catalog)
    reader = services.reader
    config = services.config
    resolve_range(query, lambda: next(iter(reader.latest_runs(1)), None))

    started = time.perf_counter()
    series = read_series(reader, query.parameter, query.partitions, query.first, query.last,
                         global_only=query.global_only, marker=config.global_marker)
    steps = history_steps(series, query.parameter, query.partitions, budget=config.diff_budget or None)
    runs_read = sorted({entry[0] for values in series.values() for entry in values})
    log.info("history of %s (%s) over runs %d to %d: %d runs read, %d changes in %.0f ms",
             query.parameter, " ".join(query.partitions), query.first, query.last, len(runs_read),
             len(steps), (time.perf_counter() - started) * 1000)

    context = page_context(
        request, services,
        query=query,
        runs_read=runs_read,
        steps=[_step_item(request, query, step) for step in reversed(steps)],
        baseline=_baseline(series, query.partitions),
        links=_range_links(request, query),
    )
    return Response(200, render("history.html", **context), HTML)


def _step_item(request: Request, query: HistoryQuery, step) -> Dict[str, Any]:
    """Return what the template shows of one step, newest steps first."""
    from ..render import change_notes

    change = step.change
    diff_url = request.url(runnumber1=step.previous_run, runnumber2=step.run, partition=change.partitions)
    # One step is one change in the diff of its two runs limited to its partitions,
    # so the parameter name alone is the anchor there (see views._anchors).
    anchor = "#" + change.parameter
    item_changes = change.diff.items.summary() if change.diff.items is not None else ""
    raw_url = None
    if change.new_recorded:
        raw_url = request.url(view="raw", run=step.run, partition=change.partitions[0], parameter=change.parameter)
    return {
        "run": step.run,
        "previous_run": step.previous_run,
        "partitions": change.partitions,
        "added": change.diff.added,
        "removed": change.diff.removed,
        "reverted_to": change.reverted_to,
        "item_changes": item_changes,
        "notes": [note for note in change_notes(change, step.previous_run, step.run)
                  if note != item_changes and not note.startswith("reverted to")],
        "inline": _inline(change.old_value, change.old_recorded, change.new_value, change.new_recorded),
        "diff_url": diff_url + anchor,
        "complete_url": request.url(runnumber1=step.previous_run, runnumber2=step.run,
                                    partition=change.partitions, view="complete") + anchor,
        "raw_url": raw_url,
    }


def _inline(old: str, old_recorded: bool, new: str, new_recorded: bool) -> Optional[Dict[str, str]]:
    """Return both values for an "old -> new" display when each fits on one short line."""
    shown = {}
    for side, value, recorded in (("old", old, old_recorded), ("new", new, new_recorded)):
        text = value.rstrip("\n")
        if "\n" in text or len(text) > INLINE_CHARS:
            return None
        shown[side] = text if recorded else "(not recorded)"
    return shown


def _baseline(series, partitions: List[str]) -> List[Dict[str, Any]]:
    """Return, per partition, the first run read and its value when that value is short."""
    rows = []
    for partition in partitions:
        values = series.get(partition) or []
        if not values:
            rows.append({"partition": partition, "run": None, "value": None})
            continue
        run, recorded, value = values[0]
        inline = _inline(value, recorded, value, recorded)
        rows.append({"partition": partition, "run": run, "value": inline["new"] if inline else None})
    return rows


def _range_links(request: Request, query: HistoryQuery) -> Dict[str, Optional[str]]:
    """Return links to the same history for the window before and after this one."""
    assert query.first is not None and query.last is not None
    width = query.last - query.first + 1
    common = {"page": "history", "parameter": query.parameter, "partition": query.partitions,
              "global_only": "1" if query.global_only else "0"}
    earlier = None
    if query.first > 0:
        earlier = request.url(**common, **{"from": max(0, query.first - width), "to": query.first - 1})
    later = None
    if query.explicit_last:
        later = request.url(**common, **{"from": query.last + 1, "to": query.last + width})
    return {"earlier": earlier, "later": later, "latest": request.url(**common)}
