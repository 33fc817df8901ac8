"""Parameter history and revert marks, against the sample database's injections."""

from __future__ import annotations

import json
import subprocess
import sys

from runinfodiffer.compare import compare_runs
from runinfodiffer.config import CHECKOUT
from runinfodiffer.history import history_steps, mark_reverts, read_series


def global_runs(manifest):
    return [r["run"] for r in manifest["runs"] if r["kind"] == "global"]


def label_at(manifest, parameter, partition, run):
    """Return the injected value label of (parameter, partition) in effect at `run`."""
    label = "v0"
    for injection in manifest["injections"]:
        if (injection["parameter"], injection["partition"]) == (parameter, partition) and injection["run"] <= run:
            label = injection["value"]
    return label


def test_reverts_marked_with_their_source(reader, sample_db):
    _, manifest = sample_db
    reverts = [i for i in manifest["injections"] if i["kind"] == "revert"]
    assert reverts, "the sample must contain reverts"
    runs = [r["run"] for r in manifest["runs"]]
    checked = 0
    for injection in reverts:
        parameter, partition = injection["parameter"], injection["partition"]
        series = read_series(reader, parameter, [partition], min(runs), max(runs), global_only=True)
        steps = {step.run: step for step in history_steps(series, parameter, [partition])}
        step = steps.get(injection["run"])
        if step is None:  # the partition did not take part in that run; nothing to mark
            continue
        assert step.change.reverted_to is not None, injection
        assert label_at(manifest, parameter, partition, step.change.reverted_to) == injection["value"], injection
        checked += 1
    assert checked >= 3


def test_edits_are_not_reverts(reader, sample_db):
    _, manifest = sample_db
    runs = [r["run"] for r in manifest["runs"]]
    series = read_series(reader, "HCAL_DAQ_RELEASE", ["HCAL_HBHE"], min(runs), max(runs), global_only=True)
    steps = history_steps(series, "HCAL_DAQ_RELEASE", ["HCAL_HBHE"])
    edits = {i["run"] for i in manifest["injections"]
             if i["kind"] == "edit" and (i["parameter"], i["partition"]) == ("HCAL_DAQ_RELEASE", "HCAL_HBHE")}
    assert edits
    for step in steps:
        if step.run in edits:
            assert step.change.reverted_to is None


def test_history_reads_one_query_per_block(reader, sample_db):
    _, manifest = sample_db
    runs = [r["run"] for r in manifest["runs"]]
    before = reader.db.statements
    read_series(reader, "CFGDOC_TXT", reader.catalog.partitions, min(runs), max(runs))
    assert reader.db.statements - before == 1
    before = reader.db.statements
    read_series(reader, "FM_URI", ["HCAL_HF"], min(runs), min(runs) + 2500)
    assert reader.db.statements - before == 3


def test_partition_not_taking_part_is_skipped(reader, sample_db):
    _, manifest = sample_db
    absent = [(r["run"], p) for r in manifest["runs"] if r["kind"] == "global" and r["reached_running"]
              for p in ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")
              if r["hcal_in"] and p not in r["partitions"]]
    assert absent
    run, partition = absent[0]
    series = read_series(reader, "FM_URI", [partition], run - 50, run + 50, global_only=True)
    assert run not in [entry[0] for entry in series[partition]]


def test_cli_history_first_change_and_json(sample_db, sample_config):
    _, manifest = sample_db
    runs = global_runs(manifest)
    command = [sys.executable, "-m", "runinfodiffer", "history", "HCAL_DAQ_RELEASE", "-p", "HCAL_HBHE",
               "--from", str(min(runs)), "--to", str(max(runs)), "--global-only", "--format", "json",
               "--config", str(sample_config)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=CHECKOUT)
    document = json.loads(result.stdout)
    assert result.returncode == 1
    edits = sorted(i["run"] for i in manifest["injections"]
                   if (i["parameter"], i["partition"]) == ("HCAL_DAQ_RELEASE", "HCAL_HBHE"))
    assert [step["run"] for step in document["steps"]] == edits

    first = subprocess.run(command + ["--first-change"], capture_output=True, text=True, cwd=CHECKOUT)
    assert [step["run"] for step in json.loads(first.stdout)["steps"]] == edits[:1]


def test_cli_history_range_reversed(sample_config):
    result = subprocess.run([sys.executable, "-m", "runinfodiffer", "history", "FM_URI", "--from", "10",
                             "--to", "5", "--config", str(sample_config)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--to 5 is below --from 10" in result.stderr


def test_mark_reverts_on_run_diff(reader, sample_db):
    _, manifest = sample_db
    revert = next(i for i in manifest["injections"]
                  if i["kind"] == "revert" and i["parameter"] == "HCAL_DAQ_RELEASE")
    pair = next(p for p in manifest["pairs"] if p["run2"] == revert["run"])
    diff = compare_runs(reader, pair["run1"], pair["run2"], reader.catalog.partitions)
    mark_reverts(reader, diff, "/hcalpro/Global/")
    change = next(c for c in diff.changes if c.parameter == "HCAL_DAQ_RELEASE")
    assert change.reverted_to is not None
    assert label_at(manifest, "HCAL_DAQ_RELEASE", "HCAL_HBHE", change.reverted_to) == revert["value"]
