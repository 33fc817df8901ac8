"""Compute the manifest of a sample database from the planned runs, and write it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Union

from .sequence import (ALL, BASE_SEQUENCE, DEMO_INDEX, HBHE, HOSTILE_INDEX, HOSTILE_PARTITION, LARGEST_INDEX,
                       LASER, RANDOM_SEED, RunPlan)
from .values import CATALOG, initial_key, parameters


def manifest_path(db_path: Union[str, Path]) -> Path:
    """Return the manifest path of a sample database: var/sample.sqlite -> var/sample.manifest.json."""
    return Path(db_path).with_suffix(".manifest.json")



def write_manifest(path: Path, plans: List[RunPlan]) -> dict:
    manifest = _manifest(plans)
    target = manifest_path(path)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)  # readers never see a half-written manifest
    return manifest


def _changed(before: RunPlan, after: RunPlan, partitions) -> Dict[str, List[str]]:
    changes: Dict[str, List[str]] = {}
    for parameter, catalog_partitions in CATALOG.items():
        for p in catalog_partitions:
            if p in partitions and before.keys[(p, parameter)] != after.keys[(p, parameter)]:
                changes.setdefault(parameter, []).append(p)
    return changes


def _pair(before: RunPlan, after: RunPlan, plans: List[RunPlan]) -> dict:
    both = [p for p in ALL if p in before.partitions and p in after.partitions]
    # A whitespace change made after run1 shows in run2. A stop value differs within
    # its own run, so the stop values of both runs could show as false changes.
    whitespace = [entry for plan in plans[before.index + 1:after.index + 1] for entry in plan.injections
                  if entry["kind"] == "whitespace"]
    stops = [entry for plan in (before, after) for entry in plan.injections if entry["kind"] == "stop_differs"]
    notes = [entry for entry in whitespace + stops if entry["partition"] in both]
    absent = {p: [plan.run for plan in (before, after) if p not in plan.partitions] for p in ALL}
    return {
        "run1": before.run,
        "run2": after.run,
        "changes": _changed(before, after, both),
        "not_taking_part": {p: runs for p, runs in absent.items() if runs},
        "non_changes": notes,
    }


def _run_entry(plan: RunPlan) -> dict:
    spelling = plan.spec.laser_spelling
    return {
        "run": plan.run,
        "kind": plan.spec.kind,
        "reached_running": "Running" in plan.states,
        "hcal_in": None if plan.spec.kind == "local" else plan.spec.fate != "out",
        "partitions": list(plan.partitions),
        "empty_fms": list(plan.spec.empty),
        "name_spelling": {} if spelling == LASER else {LASER: spelling},
        "rc_states": list(plan.states),
        "run_key": plan.spec.runkey,
    }


def _manifest(plans: List[RunPlan]) -> dict:
    eligible = [plan for plan in plans if plan.eligible]
    pairs = [_pair(a, b, plans) for a, b in zip(eligible, eligible[1:])]
    baselines = []
    last_with: Dict[str, RunPlan] = {}
    for number, plan in enumerate(eligible):
        for p in plan.partitions:
            baseline = last_with.get(p)
            if baseline is not None and baseline is not eligible[number - 1]:
                baselines.append({"run1": baseline.run, "run2": plan.run, "partition": p,
                                  "changes": _changed(baseline, plan, (p,))})
            last_with[p] = plan
    by_run2 = {pair["run2"]: pair for pair in pairs}

    def selected(index: int, **extra) -> Optional[dict]:
        if index >= len(plans):
            return None
        pair = by_run2[plans[index].run]
        return dict(pair, **extra)

    demo = selected(DEMO_INDEX)
    if demo is not None:
        changed = {p for parts in by_run2[demo["run2"]]["changes"].values() for p in parts}
        demo["partitions"] = [p for p in ALL if p in changed]
    return {
        "base_runs": len(BASE_SEQUENCE),
        "seed": RANDOM_SEED,
        "runs": [_run_entry(plan) for plan in plans],
        "pairs": pairs,
        "baselines": baselines,
        "demo_pair": demo,
        "largest_pair": selected(LARGEST_INDEX, partition=HBHE, parameter="CFGDOC_TXT"),
        "hostile_pair": selected(HOSTILE_INDEX, partition=HOSTILE_PARTITION, parameter="CFGDOC_TXT"),
        "initial_values": {p: {name: initial_key(p, name) for name in parameters(p)
                               if name != "HCAL_TIME_OF_FM_START"} for p in ALL},
        "injections": [entry for plan in plans for entry in plan.injections],
    }
