"""The rows one planned run publishes, in the order the FMs write them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, List, Optional, Tuple

from ..schema import DATE_TABLE, LEVEL1_FULLPATH, LEVEL1_RUNKEY, LVL0_HCAL, RC_STATE, STRING_TABLE, full_name
from .texts import render, stop_text
from .values import (GLOBAL_FULLPATH, HOSTS, LOCAL_RUN_KEYS, SHORT_NAMES, STOP_PARAMETERS, apply_style,
                     fm_start_text, format_list, list_items, parameters)

if TYPE_CHECKING:
    from .sequence import RunPlan

Row = Tuple[str, Optional[str], str, datetime]


def local_text(partition: str, parameter: str, runkey: str) -> Optional[str]:
    """Return the value a local run publishes in place of the global one, or None to
    publish the partition's current global value."""
    short = SHORT_NAMES[partition]
    if parameter == "LOCAL_RUNKEY_SELECTED":
        return runkey
    if parameter == "EMPTY_FMS":
        return "[]"
    if parameter == "MASTERSNIPPET_SELECTED":
        return "MasterSnippet/MasterSnippet_LocalRun.xml"
    if parameter == "FM_URI":
        return (f"http://hcalvme{HOSTS[partition]:02d}.cms:16300/urn:rcms-fm:fullpath="
                f"{LOCAL_RUN_KEYS[runkey][0]},group=HCALFM,owner=hcalpro")
    if parameter == "FM_ROLE":
        return "Level2_Laser" if partition == "HCAL_Laser" else f"Level2_Local_{short}"
    if parameter == "CFGDOC_TXT":
        return render(partition, parameter, f"local-{runkey}")
    return None


def run_rows(plan: "RunPlan") -> Tuple[List[Row], Optional[int]]:
    """Return a run's rows (name, value, table, time) in time order, and the index of
    its first Running row (None if it never reaches Running).

    A global run writes an RC_STATE row per transition. The level-one rows follow
    Configuring. EMPTY_FMS, MASKED_RESOURCES and the partitions' values follow
    Starting, before Running, and the stop values follow Stopping. A local run has no
    LVL0 rows.
    """
    rows: List[Row] = []
    moment = [plan.start]

    def add(name: str, value: Optional[str], seconds: int = 1, table: str = STRING_TABLE) -> None:
        moment[0] += timedelta(seconds=seconds)
        rows.append((name, value, table, moment[0]))

    spec = plan.spec
    if spec.kind == "local":
        _level1_rows(plan, add, LOCAL_RUN_KEYS[spec.runkey][0])
        _start_rows(plan, add)
        moment[0] += timedelta(minutes=12)
        _stop_rows(plan, add)
        return rows, None
    running_at = None
    hcal_in = spec.fate != "out"
    for number, state in enumerate(plan.states):
        if state == "Running" and running_at is None:
            running_at = len(rows)
        if state == "Stopping":
            moment[0] += timedelta(minutes=35)
        add(RC_STATE, state, 20)
        if number == 0:
            add(LVL0_HCAL, "In" if hcal_in else "Out")
            if hcal_in:
                _level1_rows(plan, add, GLOBAL_FULLPATH)
        elif state == "Starting":
            add("CMS.LVL0:START_TIME_T", moment[0].strftime("%Y-%m-%d %H:%M:%S"), 1, DATE_TABLE)
            _start_rows(plan, add)
        elif state == "Stopping":
            _stop_rows(plan, add)
            add("CMS.LVL0:STOP_TIME_T", moment[0].strftime("%Y-%m-%d %H:%M:%S"), 1, DATE_TABLE)
    return rows, running_at


def _level1_rows(plan: "RunPlan", add, fullpath: str) -> None:
    add(LEVEL1_FULLPATH, fullpath)
    add(LEVEL1_RUNKEY, plan.spec.runkey)
    add("CMS.HCAL_LEVEL_1:HCAL_TIME_OF_FM_START", fm_start_text(plan.start))


def _spelled(plan: "RunPlan", partition: str) -> str:
    return plan.spec.laser_spelling if partition == "HCAL_Laser" else partition


def _start_rows(plan: "RunPlan", add) -> None:
    if not plan.partitions:
        return
    masked = sorted({item for p in plan.partitions
                     for item in list_items(plan.keys[(p, "MASKED_RESOURCES")] or "[]")})
    add("CMS.HCAL_LEVEL_1:EMPTY_FMS", format_list(plan.spec.empty))
    add("CMS.HCAL_LEVEL_1:MASKED_RESOURCES", format_list(masked))
    for p in plan.partitions:
        for name in parameters(p):
            text = _start_text(plan, p, name)
            if text is not None:
                add(full_name(_spelled(plan, p), name), text)


def _start_text(plan: "RunPlan", partition: str, name: str) -> Optional[str]:
    if name == "HCAL_TIME_OF_FM_START":
        return fm_start_text(plan.start)
    if plan.spec.kind == "local":
        text = local_text(partition, name, plan.spec.runkey)
        if text is not None:
            return text
    key = plan.keys[(partition, name)]
    if key is None:
        return None
    return apply_style(render(partition, name, key), plan.styles.get((partition, name), ""))


def _stop_rows(plan: "RunPlan", add) -> None:
    overrides = set(plan.spec.stop)
    for p in plan.partitions:
        names = list(STOP_PARAMETERS) + [n for q, n in plan.spec.stop if q == p and n not in STOP_PARAMETERS]
        for name in names:
            key = plan.keys[(p, name)]
            if key is None:
                continue
            if (p, name) in overrides:
                text = apply_style(stop_text(p, name, key), plan.styles.get((p, name), ""))
            else:
                text = _start_text(plan, p, name)
            add(full_name(_spelled(plan, p), name), text)
