"""Revert marks in the change log: a value that comes back names the run it came from."""

from __future__ import annotations

from runinfodiffer.changelog import read_entries
from runinfodiffer.revisions import NOT_RECORDED, ValueMemory, value_digest
from tests.test_history import label_at
from tests.test_poller import load_manifest, make_poller


def test_change_log_marks_reverts(tmp_path, sample_db):
    database, _ = sample_db
    manifest = load_manifest(database)
    poller = make_poller(tmp_path, database)
    assert poller.run(once=True) == 0

    summaries = {entry.run: entry.summary for entry in read_entries(tmp_path / "BotUrlLog.html")}
    revert = next(i for i in manifest["injections"]
                  if i["kind"] == "revert" and i["parameter"] == "HCAL_DAQ_RELEASE")
    summary = summaries[revert["run"]]
    marker = "HCAL_DAQ_RELEASE reverted to the value of run "
    assert marker in summary
    source = int(summary.split(marker)[1].split(";")[0])
    assert label_at(manifest, "HCAL_DAQ_RELEASE", revert["partition"], source) == revert["value"]

    edits = {i["run"] for i in manifest["injections"]
             if i["kind"] == "edit" and i["parameter"] == "HCAL_DAQ_RELEASE"}
    for run in edits:
        assert "HCAL_DAQ_RELEASE reverted" not in summaries.get(run, "")


def test_value_memory_keeps_changes_only():
    memory = ValueMemory({}, depth=3)
    first, second = value_digest("a\r\n"), value_digest("b")
    assert first == value_digest("  a\n")
    memory.seed("HCAL_HF:FM_URI", 1, first)
    memory.record("HCAL_HF:FM_URI", 2, first)
    memory.record("HCAL_HF:FM_URI", 3, second)
    assert memory.data["HCAL_HF:FM_URI"] == [[1, first], [3, second]]
    assert memory.revert_source("HCAL_HF:FM_URI", first) == 1
    assert memory.revert_source("HCAL_HF:FM_URI", second) is None
    for run in range(4, 8):
        memory.record("HCAL_HF:FM_URI", run, value_digest(str(run)))
    assert len(memory.data["HCAL_HF:FM_URI"]) == 3
    assert value_digest(None) == NOT_RECORDED
