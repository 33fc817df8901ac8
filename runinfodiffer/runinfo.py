"""Reading runs from RunInfo: values, states and which partitions took part.

Every method runs exactly one statement with bound parameters, whatever the number of
runs or names, so a CGI request or a poller cycle costs a known number of round trips.
Oracle caps an `IN (...)` list at 1,000 items; longer lists are split into several
lists joined with OR inside the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .catalog import Catalog
from .db import Database
from .schema import LEVEL1_FULLPATH, LEVEL1_RUNKEY, LVL0_HCAL, PARAMETER_TABLE, RC_STATE, STRING_TABLE

#: Oracle's maximum number of expressions in one IN list (ORA-01795).
MAX_IN_ITEMS = 1000

_RUN_NAMES = (RC_STATE, LVL0_HCAL, LEVEL1_FULLPATH, LEVEL1_RUNKEY)


@dataclass
class RunRecord:
    """The start values of catalog parameters that one run recorded, and its run metadata.

    `values` maps (catalog partition spelling, parameter) to the value at start, the row
    with the lowest ID; a NULL value is the empty string. A pair with no row is absent.
    """

    run: int
    values: Dict[Tuple[str, str], str] = field(default_factory=dict)
    #: Partitions (catalog spelling) with at least one row in this run.
    published: Set[str] = field(default_factory=set)
    #: Partition names (upper case) listed in any EMPTY_FMS value of this run.
    empty_fms: Set[str] = field(default_factory=set)
    states: List[str] = field(default_factory=list)
    hcal: Optional[str] = None
    fm_fullpath: Optional[str] = None
    runkey: Optional[str] = None

    @property
    def exists(self) -> bool:
        return bool(self.values or self.states or self.hcal or self.fm_fullpath)

    @property
    def reached_running(self) -> bool:
        return "Running" in self.states

    def took_part(self, partition: str) -> bool:
        """Return whether `partition` published rows and is not in the run's EMPTY_FMS."""
        return partition in self.published and partition.upper() not in self.empty_fms

    def is_global(self, marker: str) -> bool:
        return bool(self.fm_fullpath) and marker in (self.fm_fullpath or "")


@dataclass
class RunStatus:
    """A global run as the poller first reads it: its states and whether HCAL is In."""

    run: int
    states: List[str] = field(default_factory=list)
    hcal: Optional[str] = None

    @property
    def reached_running(self) -> bool:
        return "Running" in self.states

    @property
    def hcal_in(self) -> bool:
        return (self.hcal or "").strip().lower() == "in"


def parse_java_list(text: str) -> List[str]:
    """Return the items of Java list text such as ``[HCAL_HO, HCAL_Laser]``."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [item.strip() for item in inner.split(",") if item.strip()]


def _in_lists(column: str, prefix: str, values: Sequence[object]) -> Tuple[str, Dict[str, object]]:
    """Return ``(col IN (:p0, ...) OR col IN (...))`` with binds, at most 1,000 per list."""
    binds: Dict[str, object] = {}
    lists = []
    for start in range(0, len(values), MAX_IN_ITEMS):
        names = []
        for offset, value in enumerate(values[start:start + MAX_IN_ITEMS]):
            key = f"{prefix}{start + offset}"
            binds[key] = value
            names.append(f":{key}")
        lists.append(f"{column} IN ({', '.join(names)})")
    return "(" + " OR ".join(lists) + ")", binds


class RunInfoReader:
    """Queries on RUNSESSION_PARAMETER and RUNSESSION_STRING for the catalog's names."""

    def __init__(self, db: Database, catalog: Catalog):
        self.db = db
        self.catalog = catalog
        self._parameter = db.table(PARAMETER_TABLE)
        self._string = db.table(STRING_TABLE)

    def read_runs(
        self, runs: Iterable[int], pairs: Optional[Sequence[Tuple[str, str]]] = None
    ) -> Dict[int, RunRecord]:
        """Read catalog values (all pairs, or `pairs`) and run metadata of `runs`, in one query."""
        runs = sorted(set(runs))
        records = {run: RunRecord(run) for run in runs}
        if not runs:
            return records
        run_filter, binds = _in_lists("p.RUNNUMBER", "r", runs)
        self._read(run_filter, binds, pairs, records)
        return records

    def read_run_range(
        self, first: int, last: int, pairs: Optional[Sequence[Tuple[str, str]]] = None
    ) -> Dict[int, RunRecord]:
        """Read like `read_runs` every run numbered `first` to `last` that has a record, in one query."""
        records: Dict[int, RunRecord] = {}
        self._read("p.RUNNUMBER BETWEEN :first AND :last", {"first": first, "last": last}, pairs, records)
        return dict(sorted((run, record) for run, record in records.items() if record.exists))

    def _read(
        self,
        run_filter: str,
        binds: Dict[str, object],
        pairs: Optional[Sequence[Tuple[str, str]]],
        records: Dict[int, RunRecord],
    ) -> None:
        wanted = self.catalog.pairs() if pairs is None else list(pairs)
        by_name = {f"CMS.{p}:{n}".upper(): (p, n) for p, n in wanted}
        names = list(by_name) + [name.upper() for name in _RUN_NAMES]
        name_filter, name_binds = _in_lists("UPPER(p.NAME)", "n", names)
        sql = (
            f"SELECT p.RUNNUMBER, p.NAME, s.VALUE FROM {self._parameter} p "
            f"LEFT JOIN {self._string} s ON s.RUNSESSION_PARAMETER_ID = p.ID "
            f"WHERE {run_filter} AND {name_filter} ORDER BY p.RUNNUMBER, p.ID"
        )
        for run, name, value in self.db.query(sql, {**binds, **name_binds}):
            record = records.setdefault(int(run), RunRecord(int(run)))
            self._store(record, name, "" if value is None else str(value), by_name)

    def read_run(self, run: int) -> RunRecord:
        return self.read_runs([run])[run]

    def _store(self, record: RunRecord, name: str, value: str, by_name: Dict[str, Tuple[str, str]]) -> None:
        upper = name.upper()
        if upper == RC_STATE.upper():
            record.states.append(value)
            return
        if upper in (LVL0_HCAL.upper(), LEVEL1_FULLPATH.upper(), LEVEL1_RUNKEY.upper()):
            attribute = {LVL0_HCAL.upper(): "hcal", LEVEL1_FULLPATH.upper(): "fm_fullpath"}.get(upper, "runkey")
            if getattr(record, attribute) is None:  # rows come in ID order: keep the start value
                setattr(record, attribute, value)
            return
        key = by_name[upper]
        record.published.add(key[0])
        if key not in record.values:
            record.values[key] = value
            if key[1].upper() == "EMPTY_FMS":
                record.empty_fms.update(item.upper() for item in parse_java_list(value))

    def global_runs_after(self, after: int, marker: str) -> List[RunStatus]:
        """Return the global runs numbered above `after`, in order, with states and HCAL flag.

        A run is global when its level-one FM_FULLPATH contains `marker`.
        """
        sql = (
            f"SELECT p.RUNNUMBER, p.NAME, s.VALUE FROM {self._parameter} p "
            f"LEFT JOIN {self._string} s ON s.RUNSESSION_PARAMETER_ID = p.ID "
            f"WHERE p.NAME IN (:state, :hcal) AND p.RUNNUMBER IN ("
            f"SELECT g.RUNNUMBER FROM {self._parameter} g "
            f"JOIN {self._string} gs ON gs.RUNSESSION_PARAMETER_ID = g.ID "
            f"WHERE g.NAME = :fullpath AND g.RUNNUMBER > :after AND gs.VALUE LIKE :marker ESCAPE '\\') "
            f"ORDER BY p.RUNNUMBER, p.ID"
        )
        escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        binds = {"state": RC_STATE, "hcal": LVL0_HCAL, "fullpath": LEVEL1_FULLPATH,
                 "after": after, "marker": f"%{escaped}%"}
        statuses: Dict[int, RunStatus] = {}
        for run, name, value in self.db.query(sql, binds):
            status = statuses.setdefault(int(run), RunStatus(int(run)))
            if name == RC_STATE:
                status.states.append(value or "")
            elif status.hcal is None:
                status.hcal = value or ""
        # NOTE: a global run with neither RC_STATE nor LVL0:HCAL rows yet is not returned
        # until its first transition is written, which is when it starts to matter.
        return [statuses[run] for run in sorted(statuses)]

    def latest_global_run(self, marker: str) -> Optional[int]:
        """Return the highest global run number, or None when there is none."""
        sql = (
            f"SELECT MAX(g.RUNNUMBER) FROM {self._parameter} g "
            f"JOIN {self._string} gs ON gs.RUNSESSION_PARAMETER_ID = g.ID "
            f"WHERE g.NAME = :fullpath AND gs.VALUE LIKE :marker ESCAPE '\\'"
        )
        escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.query(sql, {"fullpath": LEVEL1_FULLPATH, "marker": f"%{escaped}%"})
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def latest_runs(self, limit: int, before: Optional[int] = None) -> List[int]:
        """Return up to `limit` HCAL run numbers (global and local), newest first, below `before`."""
        sql = f"SELECT DISTINCT p.RUNNUMBER FROM {self._parameter} p WHERE p.NAME = :fullpath"
        binds: Dict[str, object] = {"fullpath": LEVEL1_FULLPATH}
        if before is not None:
            sql += " AND p.RUNNUMBER < :before"
            binds["before"] = before
        sql += " ORDER BY p.RUNNUMBER DESC"
        # NOTE: the limit is applied here rather than in SQL, because SQLite's LIMIT and
        # Oracle's FETCH FIRST differ; the result is one number per run.
        return [int(row[0]) for row in self.db.query(sql, binds)[:limit]]

    def count_recorded(self, run: int) -> Tuple[int, int]:
        """Return (catalog names recorded in `run`, catalog names) for `check-db`."""
        record = self.read_run(run)
        return len(record.values), len(self.catalog.pairs())

    def compared_global_runs_around(self, low: int, high: int, marker: str) -> Tuple[Optional[int], Optional[int]]:
        """Return the nearest global runs below `low` and above `high` that the poller compares.

        Those are the global runs that reached Running with HCAL In, so stepping from
        one pair of consecutive compared runs gives the next pair. Either side is None
        when no such run exists. One statement; values are CLOBs on Oracle, so they are
        matched with LIKE, never with `=`.
        """
        sql = (
            "SELECT MAX(CASE WHEN g.RUNNUMBER < :low THEN g.RUNNUMBER END), "
            "MIN(CASE WHEN g.RUNNUMBER > :high THEN g.RUNNUMBER END) "
            f"FROM {self._parameter} g JOIN {self._string} gs ON gs.RUNSESSION_PARAMETER_ID = g.ID "
            "WHERE g.NAME = :fullpath AND gs.VALUE LIKE :marker ESCAPE '\\' "
            "AND (g.RUNNUMBER < :low OR g.RUNNUMBER > :high) "
            f"AND EXISTS (SELECT 1 FROM {self._parameter} r "
            f"JOIN {self._string} rs ON rs.RUNSESSION_PARAMETER_ID = r.ID "
            "WHERE r.RUNNUMBER = g.RUNNUMBER AND r.NAME = :state AND rs.VALUE LIKE :running) "
            f"AND EXISTS (SELECT 1 FROM {self._parameter} h "
            f"JOIN {self._string} hs ON hs.RUNSESSION_PARAMETER_ID = h.ID "
            "WHERE h.RUNNUMBER = g.RUNNUMBER AND h.NAME = :hcal AND UPPER(TRIM(hs.VALUE)) LIKE :hcal_in)"
        )
        escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        binds = {"low": low, "high": high, "fullpath": LEVEL1_FULLPATH, "marker": f"%{escaped}%",
                 "state": RC_STATE, "running": "Running", "hcal": LVL0_HCAL, "hcal_in": "IN"}
        rows = self.db.query(sql, binds)
        before, after = rows[0] if rows else (None, None)
        return (int(before) if before is not None else None, int(after) if after is not None else None)
