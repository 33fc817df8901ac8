"""Reading runs and comparing them, checked against the sample database's manifest."""

from __future__ import annotations

import pytest

from runinfodiffer.compare import compare_runs, normalize
from runinfodiffer.errors import RunNotFound
from runinfodiffer.schema import full_name


def expected_changes(pair):
    return {parameter: sorted(partitions) for parameter, partitions in pair["changes"].items()}


def found_changes(result):
    found = {}
    for change in result.changes:
        found.setdefault(change.parameter, []).extend(change.partitions)
    return {parameter: sorted(partitions) for parameter, partitions in found.items()}


def test_every_manifest_pair_matches(reader, sample_db):
    _, manifest = sample_db
    assert len(manifest["pairs"]) >= 5
    for pair in manifest["pairs"]:
        partitions = reader.catalog.partitions
        result = compare_runs(reader, pair["run1"], pair["run2"], partitions)
        assert found_changes(result) == expected_changes(pair), (pair["run1"], pair["run2"])
        assert {p: sorted(r) for p, r in result.not_taking_part.items()} == {
            p: sorted(r) for p, r in pair["not_taking_part"].items()
        }, (pair["run1"], pair["run2"])


def test_one_statement_per_comparison(reader, sample_db):
    pair = sample_db[1]["demo_pair"]
    before = reader.db.statements
    compare_runs(reader, pair["run1"], pair["run2"], reader.catalog.partitions)
    assert reader.db.statements - before == 1


def test_absent_partition_never_shown_as_removed(reader, sample_db):
    _, manifest = sample_db
    pairs = [pair for pair in manifest["pairs"] if pair["not_taking_part"]]
    assert pairs, "the sample must have a pair where a partition did not take part"
    for pair in pairs:
        result = compare_runs(reader, pair["run1"], pair["run2"], reader.catalog.partitions)
        for change in result.changes:
            assert not set(change.partitions) & set(pair["not_taking_part"]), change.parameter


def test_same_change_in_several_partitions_reported_once(reader, sample_db):
    _, manifest = sample_db
    pair = next(p for p in manifest["pairs"] if any(len(v) == 4 for v in p["changes"].values()))
    parameter = next(name for name, partitions in pair["changes"].items() if len(partitions) == 4)
    result = compare_runs(reader, pair["run1"], pair["run2"], reader.catalog.partitions)
    matching = [change for change in result.changes if change.parameter == parameter]
    assert len(matching) == 1
    assert sorted(matching[0].partitions) == sorted(pair["changes"][parameter])


def test_duplicate_rows_resolve_to_start_value(reader, sample_db):
    path, manifest = sample_db
    import sqlite3

    connection = sqlite3.connect(str(path))
    row = connection.execute(
        "SELECT p.RUNNUMBER, p.NAME FROM RUNSESSION_PARAMETER p GROUP BY p.RUNNUMBER, p.NAME "
        "HAVING COUNT(*) > 1 AND COUNT(DISTINCT (SELECT VALUE FROM RUNSESSION_STRING s "
        "WHERE s.RUNSESSION_PARAMETER_ID = p.ID)) > 1 AND p.NAME LIKE 'CMS.HCAL_%' LIMIT 1"
    ).fetchone()
    assert row is not None, "the sample must record a name twice with different values"
    run, name = row
    start = connection.execute(
        "SELECT s.VALUE FROM RUNSESSION_PARAMETER p JOIN RUNSESSION_STRING s "
        "ON s.RUNSESSION_PARAMETER_ID = p.ID WHERE p.RUNNUMBER = ? AND p.NAME = ? ORDER BY p.ID LIMIT 1",
        (run, name),
    ).fetchone()[0]
    connection.close()
    partition, parameter = name[len("CMS."):].split(":", 1)
    record = reader.read_run(run)
    key = (reader.catalog.canonical_partition(partition), parameter)
    if key in record.values:
        assert record.values[key] == (start or "")


def test_both_spellings_of_laser(reader, sample_db):
    path, manifest = sample_db
    import sqlite3

    connection = sqlite3.connect(str(path))
    spellings = {row[0] for row in connection.execute(
        "SELECT DISTINCT substr(NAME, 5, instr(NAME, ':') - 5) FROM RUNSESSION_PARAMETER "
        "WHERE upper(NAME) LIKE 'CMS.HCAL_LASER:%'")}
    run_upper = connection.execute(
        "SELECT MIN(RUNNUMBER) FROM RUNSESSION_PARAMETER WHERE NAME LIKE 'CMS.HCAL\\_LASER:%' ESCAPE '\\'"
    ).fetchone()[0]
    connection.close()
    assert spellings == {"HCAL_Laser", "HCAL_LASER"}
    record = reader.read_run(run_upper)
    assert "HCAL_Laser" in record.published
    assert ("HCAL_Laser", "FM_ROLE") in record.values


def test_unknown_run(reader):
    with pytest.raises(RunNotFound, match="run 1 not found"):
        compare_runs(reader, 1, 1, reader.catalog.partitions)


def test_normalize_line_endings_and_ends():
    assert normalize("a\r\nb  \r\n\n") == "a\nb\n"
    assert normalize("  \n") == ""
    assert normalize("x") == "x\n"


def test_full_name():
    assert full_name("HCAL_HF", "LOCAL_RUNKEY_SELECTED") == "CMS.HCAL_HF:LOCAL_RUNKEY_SELECTED"
