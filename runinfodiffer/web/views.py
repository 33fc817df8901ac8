"""The form, the diff views (truncated, complete, JSON, text) and the raw value view.

Each view takes the Request and the request's Services and returns a Response, or
raises a RunInfoDifferError that the app turns into an error page.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..errors import RunNotFound
from .context import JSON, TEXT, Request, Response, Services
from .forms import DiffQuery, parse_diff_query, parse_raw_query

if TYPE_CHECKING:
    from ..model import RunDiff

log = logging.getLogger(__name__)

#: Diff lines shown per parameter in the truncated view.
PREVIEW_LINES = 20


def page_context(request: Request, services: Services, **extra: Any) -> Dict[str, Any]:
    """Return what every page template needs: links and the diff form's state."""
    context: Dict[str, Any] = {
        "link": request.url,
        "home": request.script,
        "form_action": request.script,
        "catalog_partitions": services.partitions_or_none(),
        "form_run1": "",
        "form_run2": "",
        "form_selected": None,
    }
    context.update(extra)
    selected = context["form_selected"]
    # Upper case, because partition names match without regard to case.
    context["form_checked"] = None if selected is None else {name.upper() for name in selected}
    return context


def home(request: Request, services: Services) -> Response:
    """Show the diff form and the links to the other pages."""
    from .rendering import render

    return Response(200, render("home.html", **page_context(request, services)))


def diff(request: Request, services: Services) -> Response:
    """Compare two runs and show the result in the requested view and format."""
    from ..compare import compare_runs

    query = parse_diff_query(request.params, services.catalog)
    config = services.config
    budget = None if query.view == "complete" else (config.diff_budget or None)
    started = time.perf_counter()
    result = compare_runs(services.reader, query.run1, query.run2, query.partitions, budget=budget)
    if query.run1 < query.run2:
        from ..history import mark_reverts

        # Two more queries: the global runs before run1, then their values of the
        # changed parameters. Swapped runs get no marks, since "back to" has no meaning there.
        mark_reverts(services.reader, result, config.global_marker)
    log.info("diff of runs %d and %d (%s, %s view): %d parameters changed in %.0f ms",
             query.run1, query.run2, " ".join(query.partitions), query.view,
             len(result.changes), (time.perf_counter() - started) * 1000)

    if query.format == "json":
        from ..render import render_json

        return Response(200, render_json(result), JSON)
    if query.format == "text":
        from ..render import render_text

        # The same link as `runinfodiffer diff` prints, so both outputs are identical.
        complete = f"{config.web_base_url}?runnumber1={query.run1}&runnumber2={query.run2}&view=complete"
        return Response(200, render_text(result, color=False, complete_url=complete), TEXT)

    before, after = services.reader.compared_global_runs_around(
        min(query.run1, query.run2), max(query.run1, query.run2), config.global_marker
    )
    return Response(200, _render_diff_page(request, services, query, result, before, after))


def _render_diff_page(request: Request, services: Services, query: DiffQuery, result: RunDiff,
                      before: Optional[int], after: Optional[int]) -> str:
    """Render the truncated or complete view; `before` and `after` are the neighbouring compared runs."""
    from ..render import change_notes, not_taking_part_lines, summary_line
    from .htmldiff import side_by_side, unified_preview
    from .rendering import render

    def diff_url(run1: int, run2: int, **extra: Any) -> str:
        return request.url(runnumber1=run1, runnumber2=run2, partition=query.partitions, **extra)

    view = "complete" if query.view == "complete" else None
    anchors = _anchors(result.changes)
    changes = []
    for change, anchor in zip(result.changes, anchors):
        item_changes = change.diff.items.summary() if change.diff.items is not None else ""
        notes = change_notes(change, result.run1, result.run2)
        item: Dict[str, Any] = {
            "anchor": anchor,
            "parameter": change.parameter,
            "partitions": change.partitions,
            "added": change.diff.added,
            "removed": change.diff.removed,
            "item_changes": item_changes,
            "notes": notes,
            # The summary table shows the item changes in a column of their own.
            "summary_notes": [note for note in notes if note != item_changes],
            "complete_url": diff_url(result.run1, result.run2, view="complete") + "#" + anchor,
            "raw": _raw_links(request, change, result.run1, result.run2),
            # The history ends at the diff's newer run, so this change is its latest step.
            "history_url": request.url(page="history", parameter=change.parameter, partition=change.partitions,
                                       to=max(result.run1, result.run2)),
        }
        if view:
            item["rows"] = side_by_side(change)
        else:
            preview = unified_preview(change, PREVIEW_LINES)
            item["preview"] = preview.lines
            item["more"] = preview.more
            item["preview_cut"] = preview.cut_in_change
        changes.append(item)

    steps = {
        "previous": (before, min(query.run1, query.run2)) if before is not None else None,
        "next": (max(query.run1, query.run2), after) if after is not None else None,
    }
    context = page_context(
        request, services,
        result=result,
        view=query.view,
        summary=summary_line(result),
        not_taking_part=not_taking_part_lines(result),
        changes=changes,
        links={
            "previous": diff_url(*steps["previous"], view=view) if steps["previous"] else None,
            "next": diff_url(*steps["next"], view=view) if steps["next"] else None,
            "swap": diff_url(result.run2, result.run1, view=view),
            "truncated": diff_url(result.run1, result.run2),
            "complete": diff_url(result.run1, result.run2, view="complete"),
            "text": diff_url(result.run1, result.run2, view=view, format="text"),
            "json": diff_url(result.run1, result.run2, view=view, format="json"),
        },
        steps=steps,
        form_run1=result.run1,
        form_run2=result.run2,
        form_selected=query.partitions,
    )
    return render("complete.html" if view else "diff.html", **context)


def _anchors(changes) -> List[str]:
    """Return an HTML id per change: the parameter name, with the partitions when it repeats."""
    counts: Dict[str, int] = {}
    for change in changes:
        counts[change.parameter] = counts.get(change.parameter, 0) + 1
    return [
        change.parameter if counts[change.parameter] == 1 else f"{change.parameter}--{'-'.join(change.partitions)}"
        for change in changes
    ]


def _raw_links(request: Request, change, run1: int, run2: int) -> List[Dict[str, Any]]:
    """Return links to the stored values of a change on each side where it is recorded."""
    partition = change.partitions[0]
    links = []
    for run, recorded in ((run1, change.old_recorded), (run2, change.new_recorded)):
        if recorded:
            url = request.url(view="raw", run=run, partition=partition, parameter=change.parameter)
            links.append({"run": run, "partition": partition, "url": url})
    return links


def raw(request: Request, services: Services) -> Response:
    """Return one stored value as plain text: the start value of PARAMETER of PARTITION in RUN."""
    query = parse_raw_query(request.params, services.catalog)
    record = services.reader.read_runs([query.run], pairs=[(query.partition, query.parameter)])[query.run]
    if not record.exists:
        raise RunNotFound(f"run {query.run} not found: RunInfo has no HCAL or Level-0 record for it")
    key = (query.partition, query.parameter)
    if key not in record.values:
        raise RunNotFound(f"{query.parameter} of {query.partition} is not recorded in run {query.run}")
    return Response(200, record.values[key], TEXT)


def error_page(request: Request, services: Optional[Services], status: int, message: str) -> str:
    """Render the error page with the form; fall back to plain HTML when rendering fails."""
    try:
        from .rendering import render

        services = services or Services()
        selected = [v for v in request.params.get("partition", [])] or None
        context = page_context(
            request, services, status=status, message=message,
            form_run1=(request.params.get("runnumber1") or [""])[0],
            form_run2=(request.params.get("runnumber2") or [""])[0],
            form_selected=selected,
        )
        return render("error.html", **context)
    except Exception:
        log.exception("rendering the error page for HTTP %d failed", status)
        return plain_error_page(status, message)


def plain_error_page(status: int, message: str) -> str:
    """Return a minimal error page built without templates."""
    from html import escape

    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Error {status}</title></head><body><h1>Error {status}</h1>"
        f"<p>{escape(message)}</p></body></html>\n"
    )
