"""Tests of the sample RunInfo database: its shape, its manifest and its growth.

The checks query the database with plain sqlite3, so they test what a reader sees and
not the generator's internals.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from runinfodiffer.sample import BASE_SEQUENCE, append_runs, build_sample, manifest_path
from runinfodiffer.sample import values as sample_values

REPO = Path(__file__).resolve().parent.parent
PARTITIONS = ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")
HOSTILE = '<script>alert("runinfodiffer")</script>'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "sample.sqlite"
    manifest = build_sample(path)
    connection = sqlite3.connect(str(path))
    yield path, manifest, connection
    connection.close()


def rows(connection, sql, *args):
    return connection.execute(sql, args).fetchall()


def start_values(connection, run):
    """Return {upper-case name: value at start} for a run; NULL reads as ''."""
    result = {}
    for name, value in rows(connection, """
            SELECT p.NAME, s.VALUE FROM RUNSESSION_PARAMETER p
            JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID
            WHERE p.RUNNUMBER = ? ORDER BY p.ID""", run):
        result.setdefault(name.upper(), value or "")
    return result


def normalise(value):
    """Return the value as the comparison normalises it: LF line ends, no white space at either end."""
    return value.replace("\r\n", "\n").strip()


def changes_in_values(connection, run1, run2, partitions):
    """Return {parameter: [partitions]} of catalog values that differ after normalising."""
    old, new = start_values(connection, run1), start_values(connection, run2)
    changes = {}
    for parameter, catalog_partitions in sample_values.CATALOG.items():
        for partition in catalog_partitions:
            if partition not in partitions:
                continue
            name = f"CMS.{partition}:{parameter}".upper()
            before, after = old.get(name), new.get(name)
            if (before is None) != (after is None) or (
                    before is not None and normalise(before) != normalise(after)):
                changes.setdefault(parameter, []).append(partition)
    return changes


def run_entry(manifest, run):
    return next(entry for entry in manifest["runs"] if entry["run"] == run)


def dump(path):
    connection = sqlite3.connect(str(path))
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


# ------------------------------------------------------------------------ API

def test_manifest_path_replaces_suffix():
    assert manifest_path("var/sample.sqlite") == Path("var/sample.manifest.json")
    assert manifest_path(Path("/tmp/db")) == Path("/tmp/db.manifest.json")


def test_build_is_deterministic(tmp_path):
    first = build_sample(tmp_path / "a.sqlite")
    second = build_sample(tmp_path / "b.sqlite")
    assert first == second
    assert dump(tmp_path / "a.sqlite") == dump(tmp_path / "b.sqlite")
    assert (tmp_path / "a.sqlite").read_bytes() == (tmp_path / "b.sqlite").read_bytes()
    assert manifest_path(tmp_path / "a.sqlite").read_text() == manifest_path(tmp_path / "b.sqlite").read_text()


def test_build_overwrites_existing_file(tmp_path):
    path = tmp_path / "sample.sqlite"
    build_sample(path, runs=10)
    manifest = build_sample(path, runs=3)
    connection = sqlite3.connect(str(path))
    runs = [run for (run,) in rows(connection, "SELECT DISTINCT RUNNUMBER FROM RUNSESSION_PARAMETER")]
    connection.close()
    assert len(runs) == 3
    assert [entry["run"] for entry in manifest["runs"]] == sorted(runs)
    assert json.loads(manifest_path(path).read_text()) == manifest


def test_build_with_few_runs_has_no_selected_pairs(tmp_path):
    manifest = build_sample(tmp_path / "small.sqlite", runs=2)
    assert manifest["largest_pair"] is None
    assert manifest["hostile_pair"] is None
    assert manifest["demo_pair"] is None


def test_catalog_copy_matches_parameter_file():
    catalog = {}
    for line in (REPO / "diffed_parameters.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, partitions = line.split(":")
            catalog[name.strip()] = tuple(partitions.split())
    assert {name: set(parts) for name, parts in catalog.items()} == \
        {name: set(parts) for name, parts in sample_values.CATALOG.items()}


# ------------------------------------------------------------------------ shape of the runs

def test_runs_interleave_global_and_local(built):
    _, manifest, connection = built
    runs = [run for (run,) in rows(connection, "SELECT DISTINCT RUNNUMBER FROM RUNSESSION_PARAMETER ORDER BY 1")]
    assert len(runs) >= 40
    assert len(runs) == len(BASE_SEQUENCE)
    assert runs[0] >= 330000
    assert [entry["run"] for entry in manifest["runs"]] == runs
    kinds = [entry["kind"] for entry in manifest["runs"]]
    assert kinds.count("local") >= 8
    assert "global" in kinds[kinds.index("local"):]


def test_ids_grow_with_time_within_each_run(built):
    _, _, connection = built
    for (run,) in rows(connection, "SELECT DISTINCT RUNNUMBER FROM RUNSESSION_PARAMETER"):
        times = [t for (t,) in rows(connection, "SELECT TIME FROM RUNSESSION_PARAMETER WHERE RUNNUMBER = ? ORDER BY ID", run)]
        assert times == sorted(times), run


def test_global_runs_have_level0_rows(built):
    _, manifest, connection = built
    for entry in manifest["runs"]:
        lvl0 = rows(connection, "SELECT COUNT(*) FROM RUNSESSION_PARAMETER WHERE RUNNUMBER = ? AND NAME LIKE 'CMS.LVL0:%'", entry["run"])[0][0]
        values = start_values(connection, entry["run"])
        if entry["kind"] == "local":
            assert lvl0 == 0
            assert values["CMS.HCAL_LEVEL_1:FM_FULLPATH"].startswith("/hcalpro/Local/")
            assert values["CMS.HCAL_LEVEL_1:LOCAL_RUNKEY_SELECTED"] == entry["run_key"]
            continue
        assert lvl0 > 0
        assert values["CMS.LVL0:HCAL"] == ("In" if entry["hcal_in"] else "Out")
        if entry["hcal_in"]:
            assert "/hcalpro/Global/" in values["CMS.HCAL_LEVEL_1:FM_FULLPATH"]
            assert values["CMS.HCAL_LEVEL_1:LOCAL_RUNKEY_SELECTED"] == "global_HCAL"


def test_local_runs_publish_only_their_partitions(built):
    _, manifest, connection = built
    for entry in manifest["runs"]:
        if entry["kind"] != "local":
            continue
        names = {name.split(":")[0].upper() for (name,) in rows(
            connection, "SELECT NAME FROM RUNSESSION_PARAMETER WHERE RUNNUMBER = ?", entry["run"])}
        assert names - {"CMS.HCAL_LEVEL_1"} == {f"CMS.{p}".upper() for p in entry["partitions"]}
        values = start_values(connection, entry["run"])
        runkey = values[f"CMS.{entry['partitions'][0]}:LOCAL_RUNKEY_SELECTED".upper()]
        assert runkey == entry["run_key"]


def test_some_global_runs_never_reach_running(built):
    _, manifest, connection = built
    stuck = [entry for entry in manifest["runs"] if entry["kind"] == "global" and not entry["reached_running"]]
    final_states = set()
    for entry in stuck:
        states = [s for (s,) in rows(connection, """SELECT s.VALUE FROM RUNSESSION_PARAMETER p
            JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID
            WHERE p.RUNNUMBER = ? AND p.NAME = 'CMS.LVL0:RC_STATE' ORDER BY p.ID""", entry["run"])]
        assert states[:2] == ["Configuring", "Configured"]
        assert "Running" not in states
        final_states.add(states[-1])
    assert final_states == {"Halted", "Error"}


def test_stuck_run_with_error_still_publishes_values(built):
    _, manifest, connection = built
    errored = [e for e in manifest["runs"] if e["rc_states"] and e["rc_states"][-1] == "Error"]
    assert errored
    values = start_values(connection, errored[0]["run"])
    assert "CMS.HCAL_HBHE:CFGDOC_TXT" in values


def test_hcal_out_run_has_no_hcal_rows(built):
    _, manifest, connection = built
    out = [entry for entry in manifest["runs"] if entry["hcal_in"] is False]
    assert len(out) == 1
    assert out[0]["reached_running"]
    assert out[0]["partitions"] == []
    names = {n for (n,) in rows(connection, "SELECT NAME FROM RUNSESSION_PARAMETER WHERE RUNNUMBER = ?", out[0]["run"])}
    assert names and all(name.startswith("CMS.LVL0:") for name in names)


def test_empty_fms_partitions_publish_nothing(built):
    _, manifest, connection = built
    with_empty = [entry for entry in manifest["runs"] if entry["empty_fms"]]
    assert any(len(entry["empty_fms"]) == 2 for entry in with_empty)
    for entry in with_empty:
        values = start_values(connection, entry["run"])
        prefixes = {name.split(":")[0] for name in values}
        listed = "[" + ", ".join(entry["empty_fms"]) + "]"
        for partition in entry["empty_fms"]:
            assert f"CMS.{partition}".upper() not in prefixes
        for partition in entry["partitions"]:
            assert values[f"CMS.{partition}:EMPTY_FMS".upper()] == listed
        assert values["CMS.HCAL_LEVEL_1:EMPTY_FMS"] == listed


def test_stop_values_differ_from_start_values(built):
    _, _, connection = built
    duplicates = rows(connection, """SELECT p.RUNNUMBER, p.NAME, COUNT(DISTINCT COALESCE(s.VALUE, '')), MIN(p.ID)
        FROM RUNSESSION_PARAMETER p JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID
        WHERE p.NAME NOT LIKE 'CMS.LVL0:%' GROUP BY p.RUNNUMBER, p.NAME HAVING COUNT(*) > 1""")
    assert len(duplicates) > 100
    differing = {name for run, name, distinct, _ in duplicates if distinct > 1}
    assert {"CMS.HCAL_HF:CFGDOC_TXT", "CMS.HCAL_HBHE:MASKED_RESOURCES",
            "CMS.HCAL_HO:HCAL_uHTRManager_zsMarkAndPass"} <= differing


def test_both_laser_spellings_occur(built):
    _, manifest, connection = built
    names = {n for (n,) in rows(connection, "SELECT DISTINCT NAME FROM RUNSESSION_PARAMETER WHERE NAME LIKE 'CMS.HCAL_LASER:%'")}
    assert any(name.startswith("CMS.HCAL_Laser:") for name in names)
    assert any(name.startswith("CMS.HCAL_LASER:") for name in names)
    for entry in manifest["runs"]:
        spelled = {n.split(":")[0] for (n,) in rows(connection, """SELECT NAME FROM RUNSESSION_PARAMETER
            WHERE RUNNUMBER = ? AND NAME LIKE 'CMS.HCAL_LASER:%'""", entry["run"])}
        expected = entry["name_spelling"].get("HCAL_Laser", "HCAL_Laser")
        assert spelled <= {f"CMS.{expected}"}, entry["run"]


def test_literal_and_null_values_occur(built):
    _, _, connection = built
    literals = {v for (v,) in rows(connection, "SELECT DISTINCT VALUE FROM RUNSESSION_STRING WHERE VALUE IN ('empty string', 'not set')")}
    assert literals == {"empty string", "not set"}
    nulls = rows(connection, """SELECT p.NAME, p.STRING_VALUE FROM RUNSESSION_PARAMETER p
        JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID WHERE s.VALUE IS NULL""")
    assert nulls
    assert all(short is None for _, short in nulls)
    assert not rows(connection, "SELECT 1 FROM RUNSESSION_STRING WHERE VALUE = ''")


def test_string_value_is_a_short_copy(built):
    _, _, connection = built
    for short, value in rows(connection, """SELECT p.STRING_VALUE, s.VALUE FROM RUNSESSION_PARAMETER p
            JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID WHERE s.VALUE IS NOT NULL"""):
        assert value.startswith(short)
    longest = rows(connection, "SELECT MAX(LENGTH(STRING_VALUE)) FROM RUNSESSION_PARAMETER")[0][0]
    assert longest < 1000


def test_multiline_formats(built):
    _, manifest, connection = built
    values = start_values(connection, manifest["runs"][0]["run"])
    assert "include(/uTCA/uHTR-GlobalRun.cfg:pro)" in values["CMS.HCAL_HBHE:HCAL_CFGSCRIPT"]
    snippet = values["CMS.HCAL_HF:MASTER_CFGSCRIPT"]
    assert "<mastersnippet>" in snippet
    assert 'Partition="HF;HO"' in snippet
    assert re.search(r'<include file="[^"]+" version="\d+"/>', snippet)
    assert re.search(r'<FMParameter name="\w+" type="\w+" value="[^"]*"', snippet)
    cfgdoc = values["CMS.HCAL_HBHE:CFGDOC_TXT"]
    assert "hcal::uHTRManager {" in cfgdoc
    assert '<LocalRunkey name="LED-HBHE">' in cfgdoc
    assert 200 <= cfgdoc.count("\n") <= 400
    assert re.search(r"^main\.inselect\.cyclic_gen_enable 0x[0-9A-F]+$", values["CMS.HCAL_HO:HCAL_ICICONTROL_MULTI"], re.M)
    assert re.match(r"slot1:HBHE 0x[0-9A-F]{4}/0x[0-9A-F]{4};slot2:", values["CMS.HCAL_HBHE:UHTRMANAGER_FIRMWARE_CRATE20"])
    laser = values["CMS.HCAL_LASER:CFGDOC_TXT"].split("\n")[:-1]
    assert len(laser) == 242
    assert len(set(laser)) < 100


def test_largest_pair_is_a_full_dump(built):
    _, manifest, connection = built
    pair = manifest["largest_pair"]
    old = start_values(connection, pair["run1"])["CMS.HCAL_HBHE:CFGDOC_TXT"].split("\n")
    new = start_values(connection, pair["run2"])["CMS.HCAL_HBHE:CFGDOC_TXT"].split("\n")
    assert len(old) >= 20000
    assert len(new) >= 20000
    changed = [line for line in difflib.unified_diff(old, new, n=0, lineterm="")
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert 200 <= len(changed) <= 400
    heavy = rows(connection, """SELECT COUNT(*) FROM RUNSESSION_STRING WHERE LENGTH(VALUE) > 500000""")[0][0]
    assert heavy <= 4


def test_database_stays_small(built):
    path, _, _ = built
    assert path.stat().st_size < 15 * 1024 * 1024


def test_hostile_pair_embeds_script_in_xml(built):
    _, manifest, connection = built
    pair = manifest["hostile_pair"]
    name = f"CMS.{pair['partition']}:{pair['parameter']}".upper()
    old = start_values(connection, pair["run1"])[name]
    new = start_values(connection, pair["run2"])[name]
    assert HOSTILE not in old
    assert HOSTILE in new
    assert "<LocalRunkey" in new


# ------------------------------------------------------------------------ manifest

def test_pairs_match_the_values(built):
    _, manifest, connection = built
    assert len(manifest["pairs"]) >= 15
    for pair in manifest["pairs"]:
        both = [p for p in PARTITIONS if p not in pair["not_taking_part"]]
        assert changes_in_values(connection, pair["run1"], pair["run2"], both) == pair["changes"], pair


def test_pairs_cover_the_injected_cases(built):
    _, manifest, _ = built
    changes = [pair["changes"] for pair in manifest["pairs"]]
    assert {"HCAL_uHTRManager_zsSimpleThreshold": ["HCAL_HF"]} in changes
    assert any(c.get("HCAL_DAQ_RELEASE") == list(PARTITIONS) for c in changes)
    assert any("EMPTY_FMS" in c for c in changes)
    assert any("MASKED_RESOURCES" in c for c in changes)
    assert {} in changes
    kinds = {entry["kind"] for entry in manifest["injections"]}
    assert {"edit", "revert", "remove", "restore", "list", "whitespace", "stop_differs"} <= kinds
    assert any(pair["not_taking_part"] for pair in manifest["pairs"])


def test_non_changes_differ_only_in_whitespace(built):
    _, manifest, connection = built
    whitespace = [(pair, note) for pair in manifest["pairs"] for note in pair["non_changes"] if note["kind"] == "whitespace"]
    assert len(whitespace) == 2
    for pair, note in whitespace:
        name = f"CMS.{note['partition']}:{note['parameter']}".upper()
        old = start_values(connection, pair["run1"])[name]
        new = start_values(connection, pair["run2"])[name]
        assert old != new
        assert normalise(old) == normalise(new)
        assert note["partition"] not in pair["changes"].get(note["parameter"], [])


def test_baselines_skip_runs_without_the_partition(built):
    _, manifest, connection = built
    assert manifest["baselines"]
    for entry in manifest["baselines"]:
        changed = changes_in_values(connection, entry["run1"], entry["run2"], [entry["partition"]])
        assert changed == entry["changes"]


def test_injection_log_gives_any_pair(built):
    _, manifest, connection = built
    eligible = [e["run"] for e in manifest["runs"] if e["reached_running"] and e["hcal_in"]]
    run1, run2 = eligible[0], eligible[-1]

    def key_at(run, partition, parameter):
        key = manifest["initial_values"][partition][parameter]
        for entry in manifest["injections"]:
            if entry["run"] <= run and (entry["partition"], entry["parameter"]) == (partition, parameter):
                key = entry["value"]
        return key

    expected = {}
    for parameter, partitions in sample_values.CATALOG.items():
        for partition in partitions:
            if key_at(run1, partition, parameter) != key_at(run2, partition, parameter):
                expected.setdefault(parameter, []).append(partition)
    assert changes_in_values(connection, run1, run2, PARTITIONS) == expected


def test_selected_pairs_are_listed(built):
    _, manifest, _ = built
    listed = {(pair["run1"], pair["run2"]): pair for pair in manifest["pairs"]}
    demo = manifest["demo_pair"]
    assert len(demo["partitions"]) >= 3
    assert (demo["run1"], demo["run2"]) in listed
    for key in ("largest_pair", "hostile_pair"):
        selected = manifest[key]
        pair = listed[(selected["run1"], selected["run2"])]
        assert selected["partition"] in pair["changes"][selected["parameter"]]


# ------------------------------------------------------------------------ growth

def test_append_continues_the_sequence(tmp_path):
    grown = tmp_path / "grown.sqlite"
    build_sample(grown, runs=10)
    first = append_runs(grown, 5)
    second = append_runs(grown, 3)
    whole = tmp_path / "whole.sqlite"
    manifest = build_sample(whole, runs=18)
    numbers = [entry["run"] for entry in manifest["runs"]]
    assert first == numbers[10:15]
    assert second == numbers[15:18]
    assert dump(grown) == dump(whole)
    assert json.loads(manifest_path(grown).read_text()) == manifest


def test_append_keeps_ids_of_held_back_rows(tmp_path):
    path = tmp_path / "held.sqlite"
    build_sample(path, runs=10)
    connection = sqlite3.connect(str(path))
    highest = rows(connection, "SELECT MAX(ID) FROM RUNSESSION_PARAMETER")[0][0]
    held_parameters = rows(connection, "SELECT * FROM RUNSESSION_PARAMETER WHERE ID > ?", highest - 3)
    held_strings = rows(connection, "SELECT * FROM RUNSESSION_STRING WHERE RUNSESSION_PARAMETER_ID > ?", highest - 3)
    with connection:
        connection.execute("DELETE FROM RUNSESSION_PARAMETER WHERE ID > ?", (highest - 3,))
        connection.execute("DELETE FROM RUNSESSION_STRING WHERE RUNSESSION_PARAMETER_ID > ?", (highest - 3,))
    connection.close()

    append_runs(path, 1)

    connection = sqlite3.connect(str(path))
    with connection:
        connection.executemany("INSERT INTO RUNSESSION_PARAMETER VALUES (?, ?, ?, ?, ?, ?)", held_parameters)
        connection.executemany("INSERT INTO RUNSESSION_STRING VALUES (?, ?)", held_strings)
    connection.close()
    build_sample(tmp_path / "whole.sqlite", runs=11)
    # RUNSESSION_STRING dumps in insertion order, and the held-back rows came back last.
    assert sorted(dump(path)) == sorted(dump(tmp_path / "whole.sqlite"))


def test_append_rejects_negative_count(tmp_path):
    path = tmp_path / "sample.sqlite"
    build_sample(path, runs=1)
    with pytest.raises(ValueError, match="invalid run count -1"):
        append_runs(path, -1)


def test_append_to_empty_database_starts_the_sequence(tmp_path):
    path = tmp_path / "empty.sqlite"
    manifest = build_sample(path, runs=0)
    assert manifest["runs"] == []
    assert append_runs(path, 2) == [entry["run"] for entry in build_sample(tmp_path / "two.sqlite", runs=2)["runs"]]


def test_append_rejects_missing_database(tmp_path):
    with pytest.raises(FileNotFoundError):
        append_runs(tmp_path / "missing.sqlite", 1)


def test_append_thousand_runs(tmp_path):
    path = tmp_path / "long.sqlite"
    base = build_sample(path)
    new_runs = append_runs(path, 1000)
    assert len(new_runs) == 1000
    assert new_runs[0] > base["runs"][-1]["run"]
    assert all(a < b for a, b in zip(new_runs, new_runs[1:]))
    manifest = json.loads(manifest_path(path).read_text())
    assert len(manifest["runs"]) == len(base["runs"]) + 1000
    later = [entry for entry in manifest["injections"] if entry["run"] > base["runs"][-1]["run"]]
    assert {"edit", "revert", "remove", "restore", "list"} <= {entry["kind"] for entry in later}
    kinds = {(entry["kind"], entry["hcal_in"], entry["reached_running"]) for entry in manifest["runs"][len(base["runs"]):]}
    assert {("local", None, False), ("global", True, True), ("global", True, False), ("global", False, True)} <= kinds
    connection = sqlite3.connect(str(path))
    try:
        for pair in manifest["pairs"][-40:]:
            both = [p for p in PARTITIONS if p not in pair["not_taking_part"]]
            assert changes_in_values(connection, pair["run1"], pair["run2"], both) == pair["changes"], pair
    finally:
        connection.close()


def test_append_with_step_delay_shows_run_before_running(tmp_path):
    path = tmp_path / "slow.sqlite"
    manifest = build_sample(path, runs=6)
    next_global = next(e for e in build_sample(tmp_path / "ref.sqlite", runs=8)["runs"][6:] if e["reached_running"])
    seen = []
    stop = threading.Event()

    def poll():
        connection = sqlite3.connect(str(path), timeout=10)
        while not stop.is_set():
            states = {s for (s,) in rows(connection, """SELECT s.VALUE FROM RUNSESSION_PARAMETER p
                JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID
                WHERE p.RUNNUMBER = ? AND p.NAME = 'CMS.LVL0:RC_STATE'""", next_global["run"])}
            if states:
                seen.append("Running" in states)
            time.sleep(0.01)
        connection.close()

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        append_runs(path, 2, step_delay=0.3)
    finally:
        stop.set()
        reader.join()
    assert manifest["runs"][-1]["run"] < next_global["run"]
    assert False in seen
    assert seen[-1] is True
