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
    assert memory.data["HCAL_HF:FM_URI"] == [[1, first, 2], [3, second, 3]]
    assert memory.revert_source("HCAL_HF:FM_URI", first) == 2
    assert memory.revert_source("HCAL_HF:FM_URI", second) is None
    for run in range(4, 8):
        memory.record("HCAL_HF:FM_URI", run, value_digest(str(run)))
    assert len(memory.data["HCAL_HF:FM_URI"]) == 3
    assert value_digest(None) == NOT_RECORDED


def test_poller_and_web_name_same_revert_source(tmp_path, reader):
    """The change log's revert marks equal those of mark_reverts, which the web and CLI use."""
    import re
    import shutil

    from runinfodiffer.compare import compare_runs
    from runinfodiffer.history import mark_reverts
    from runinfodiffer.runinfo import RunInfoReader
    from runinfodiffer.sample import append_runs

    database = tmp_path / "grown.sqlite"
    shutil.copy(reader.db.url.path, database)
    append_runs(database, 150)
    poller = make_poller(tmp_path, database)
    assert poller.run(once=True) == 0

    grown = RunInfoReader(poller.reader.db, reader.catalog)
    checked = 0
    for entry in read_entries(tmp_path / "BotUrlLog.html"):
        logged = {name: int(run) for name, run in re.findall(r"(\w+) reverted to the value of run (\d+)", entry.summary)}
        marked = {}
        for comparison in entry.comparisons:
            diff = compare_runs(grown, comparison.run1, comparison.run2, comparison.partitions)
            mark_reverts(grown, diff, "/hcalpro/Global/")
            marked.update({c.parameter: c.reverted_to for c in diff.changes if c.reverted_to is not None})
        assert logged == marked, entry.run
        checked += len(logged)
    assert checked >= 5
