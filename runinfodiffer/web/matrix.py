"""The change matrix of the recent-changes page, drawn as inline SVG by the server.

Columns are the last N global runs that reached Running with HCAL In, the runs the
poller compares, oldest on the left. Rows are the catalog parameters that changed at
least once in those runs, in catalog order. There is one row per parameter, whatever the
partition, so 50 runs of about 30 parameters fit on one screen. A cell is:

- "changed": in at least one partition the value differs from that partition's
  previous column in which it took part. The mark links to that step's diff.
- "absent": no change, and a partition the catalog lists for the parameter did not
  take part in that run. A partition left out of a run thus shows as a light column.

The oldest column read is only a baseline, and a partition's first column in the
window has nothing to compare with, so neither can show a change. The matrix costs two
queries whatever N is: the compared run numbers, then the catalog values of the window.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import DatabaseUnavailable, UsageError
from ..schema import LEVEL1_FULLPATH, LVL0_HCAL, PARAMETER_TABLE, RC_STATE, STRING_TABLE
from .context import Request, Services
from .forms import Params, first

log = logging.getLogger(__name__)

DEFAULT_RUNS = 50
MIN_RUNS = 10
MAX_RUNS = 200

#: Geometry in CSS pixels: cell size, the mark inside it, the run-number header.
CELL_WIDTH = 14
ROW_HEIGHT = 16
MARK_WIDTH = 10
MARK_HEIGHT = 12
HEADER_HEIGHT = 52
LABEL_CHAR_WIDTH = 6.7  # 11 px monospace, an estimate that leaves a small margin
LEGEND_HEIGHT = 26

CHANGED_FILL = "#0969da"
ABSENT_FILL = "#d0d7de"
STRIPE_FILL = "#f6f8fa"


class Cell:
    """One mark: `kind` is "changed" or "absent"; `url` is set for changes only."""

    __slots__ = ("kind", "title", "url")

    def __init__(self, kind: str, title: str, url: Optional[str] = None):
        self.kind = kind
        self.title = title
        self.url = url


def parse_matrix_runs(params: Params) -> int:
    """Return `matrix_runs` (default DEFAULT_RUNS); raise UsageError outside MIN_RUNS..MAX_RUNS."""
    value = first(params, "matrix_runs")
    if not value:
        return DEFAULT_RUNS
    if not value.isdigit() or not value.isascii() or not MIN_RUNS <= int(value) <= MAX_RUNS:
        raise UsageError(f"invalid matrix_runs {value!r}: use a number of runs from {MIN_RUNS} to {MAX_RUNS}")
    return int(value)


def compared_runs(reader, marker: str, limit: int) -> List[int]:
    """Return up to `limit` global runs that reached Running with HCAL In, newest first, in one query."""
    sql = (
        f"SELECT DISTINCT g.RUNNUMBER FROM {reader.db.table(PARAMETER_TABLE)} g "
        f"JOIN {reader.db.table(STRING_TABLE)} gs ON gs.RUNSESSION_PARAMETER_ID = g.ID "
        "WHERE g.NAME = :fullpath AND gs.VALUE LIKE :marker ESCAPE '\\' "
        f"AND EXISTS (SELECT 1 FROM {reader.db.table(PARAMETER_TABLE)} r "
        f"JOIN {reader.db.table(STRING_TABLE)} rs ON rs.RUNSESSION_PARAMETER_ID = r.ID "
        "WHERE r.RUNNUMBER = g.RUNNUMBER AND r.NAME = :state AND rs.VALUE LIKE :running) "
        f"AND EXISTS (SELECT 1 FROM {reader.db.table(PARAMETER_TABLE)} h "
        f"JOIN {reader.db.table(STRING_TABLE)} hs ON hs.RUNSESSION_PARAMETER_ID = h.ID "
        "WHERE h.RUNNUMBER = g.RUNNUMBER AND h.NAME = :hcal AND UPPER(TRIM(hs.VALUE)) LIKE :hcal_in) "
        "ORDER BY g.RUNNUMBER DESC"
    )
    escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    binds = {"fullpath": LEVEL1_FULLPATH, "marker": f"%{escaped}%", "state": RC_STATE, "running": "Running",
             "hcal": LVL0_HCAL, "hcal_in": "IN"}
    # NOTE: every compared run number is fetched and the list is cut here, because
    # SQLite's LIMIT and Oracle's FETCH FIRST differ. That is one number per global run.
    return [int(row[0]) for row in reader.db.query(sql, binds)[:limit]]


def build_matrix(request: Request, reader, catalog, marker: str, count: int) -> Optional[Dict[str, Any]]:
    """Read the last `count` compared runs and return the matrix, or None when there are fewer than two."""
    from ..compare import normalize

    runs = sorted(compared_runs(reader, marker, count + 1))
    if len(runs) < 2:
        return None
    # One query for the whole window. It reads the compared runs only, not the local
    # runs between them, whose values would all be read and thrown away.
    # NOTE: it reads every catalog value of count + 1 runs. With configuration texts of
    # 100 kB per partition (an estimate for production), 200 runs read about 80 MB.
    records = reader.read_runs(runs, catalog.pairs())
    partitions = catalog.partitions

    last_seen: Dict[str, int] = {}  # partition -> its latest run so far in which it took part
    cells: Dict[Tuple[str, int], Cell] = {}
    for run in runs:
        record = records[run]
        taking_part = [p for p in partitions if record.took_part(p)]
        absent = [p for p in partitions if p not in taking_part]
        for parameter, listed in catalog.parameters.items():
            changes: Dict[str, Tuple[int, bool, str, bool, str]] = {}
            for partition in listed:
                if partition not in taking_part or partition not in last_seen:
                    continue
                previous = records[last_seen[partition]]
                key = (partition, parameter)
                old = (key in previous.values, normalize(previous.values.get(key, "")))
                new = (key in record.values, normalize(record.values.get(key, "")))
                if old != new:
                    changes[partition] = (previous.run, *old, *new)
            missing = [p for p in listed if p in absent]
            if changes:
                cells[(parameter, run)] = _changed_cell(request, parameter, run, changes, partitions)
            elif missing:
                cells[(parameter, run)] = Cell("absent", f"run {run}: {', '.join(missing)} did not take part")
        for partition in taking_part:
            last_seen[partition] = run

    shown = runs[1:]
    changed = {parameter for (parameter, _), cell in cells.items() if cell.kind == "changed"}
    parameters = [name for name in catalog.parameters if name in changed]
    return _layout(request, runs[0], shown, parameters, cells)


def _changed_cell(request: Request, parameter: str, run: int, changes: Dict[str, tuple],
                  partitions: Sequence[str]) -> Cell:
    """Return the mark of a change, linked to the diff of the first changed partition's step.

    Partitions whose previous run differs from that step's get their own diff, so they
    are named in the title only.
    """
    changed = [p for p in partitions if p in changes]
    baseline = changes[changed[0]][0]
    linked = [p for p in changed if changes[p][0] == baseline]
    # The diff groups partitions with equal old and new values into one change. When
    # the linked partitions split into several groups, the anchor names the partitions.
    groups: Dict[tuple, List[str]] = {}
    for partition in linked:
        groups.setdefault(changes[partition][1:], []).append(partition)
    first_group = groups[changes[linked[0]][1:]]
    anchor = parameter if len(groups) == 1 else f"{parameter}--{'-'.join(first_group)}"
    url = request.url(runnumber1=baseline, runnumber2=run, partition=linked) + "#" + anchor

    since = sorted({(changes[p][0], p) for p in changed})
    steps = ", ".join(f"{p} since run {previous}" for previous, p in since)
    return Cell("changed", f"run {run}: {parameter} changed in {steps}", url)


def _layout(request: Request, baseline: int, runs: List[int], parameters: List[str],
            cells: Dict[Tuple[str, int], Cell]) -> Dict[str, Any]:
    """Return the SVG geometry: positions of labels, stripes and marks, in pixels.

    `baseline` is the compared run before the first column, the left side of its diff.
    """
    label_width = int(max([len(name) for name in parameters] + [12]) * LABEL_CHAR_WIDTH) + 12
    width = label_width + len(runs) * CELL_WIDTH + 8
    body_height = max(1, len(parameters)) * ROW_HEIGHT
    height = HEADER_HEIGHT + body_height + LEGEND_HEIGHT
    columns = []
    for index, run in enumerate(runs):
        previous = runs[index - 1] if index else baseline
        columns.append({
            "run": run,
            "x": label_width + index * CELL_WIDTH,
            "center": label_width + index * CELL_WIDTH + CELL_WIDTH // 2,
            "url": request.url(runnumber1=previous, runnumber2=run),
        })
    rows = []
    for row_index, parameter in enumerate(parameters):
        y = HEADER_HEIGHT + row_index * ROW_HEIGHT
        marks = []
        for column in columns:
            cell = cells.get((parameter, column["run"]))
            if cell is None:
                continue
            marks.append({
                "kind": cell.kind, "title": cell.title, "url": cell.url, "run": column["run"],
                "x": column["x"] + (CELL_WIDTH - MARK_WIDTH) // 2, "y": y + (ROW_HEIGHT - MARK_HEIGHT) // 2,
                "fill": CHANGED_FILL if cell.kind == "changed" else ABSENT_FILL,
            })
        rows.append({
            "parameter": parameter, "y": y, "text_y": y + ROW_HEIGHT - 4, "stripe": row_index % 2 == 0,
            "marks": marks,
            "history_url": request.url(page="history", parameter=parameter, **{"from": runs[0], "to": runs[-1]}),
        })
    return {
        "runs": runs, "columns": columns, "rows": rows,
        "width": width, "height": height, "label_width": label_width,
        "header_height": HEADER_HEIGHT, "body_height": body_height, "legend_y": HEADER_HEIGHT + body_height + 8,
        "cell_width": CELL_WIDTH, "row_height": ROW_HEIGHT, "mark_width": MARK_WIDTH, "mark_height": MARK_HEIGHT,
        "changed_fill": CHANGED_FILL, "absent_fill": ABSENT_FILL, "stripe_fill": STRIPE_FILL,
    }


def matrix_context(request: Request, services: Services) -> Dict[str, Any]:
    """Return the template values of the matrix: `matrix`, `matrix_runs` and `matrix_problem`.

    A database that cannot be reached leaves the change log page usable: the problem is
    shown in place of the matrix and logged.
    """
    count = parse_matrix_runs(request.params)
    try:
        matrix = build_matrix(request, services.reader, services.catalog, services.config.global_marker, count)
    except DatabaseUnavailable as error:
        log.warning("change matrix of the last %d compared runs not drawn: %s", count, error)
        return {"matrix": None, "matrix_runs": count, "matrix_problem": f"The change matrix is not available: {error}"}
    return {"matrix": matrix, "matrix_runs": count, "matrix_problem": None}
