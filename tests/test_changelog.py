"""Change log files: atomic writes, cap, idempotent append, HTML and JSON forms."""

import json

from runinfodiffer.changelog import Comparison, Entry, append_entry, json_path, parse_html, read_entries


def make_entry(entry_id, run, summary="Run changed <b>&"):
    comparison = Comparison(run - 5, run, ["HCAL_HBHE", "HCAL_HF"], 2,
                            f"http://h/v?runnumber1={run - 5}&runnumber2={run}",
                            f"http://h/v?runnumber1={run - 5}&runnumber2={run}&format=text")
    return Entry(entry_id, "2026-12-04T20:00:00Z", run, summary, [comparison])


def test_append_round_trip(tmp_path):
    log = tmp_path / "BotUrlLog.html"
    append_entry(log, make_entry(1, 100))
    append_entry(log, make_entry(2, 105))
    from_json = read_entries(log)
    from_html = parse_html(log.read_text())
    assert [e.id for e in from_json] == [1, 2]
    assert from_html == from_json
    assert from_html[1].comparisons[0].text_url.endswith("runnumber2=105&format=text")
    assert from_html[0].summary == "Run changed <b>&"
    assert "<b>" not in log.read_text()


def test_append_same_run_is_noop(tmp_path):
    log = tmp_path / "BotUrlLog.html"
    append_entry(log, make_entry(1, 100))
    stored = append_entry(log, make_entry(2, 100))
    assert stored.id == 1
    assert [e.id for e in read_entries(log)] == [1]


def test_append_repairs_html_missing_entry(tmp_path):
    log = tmp_path / "BotUrlLog.html"
    append_entry(log, make_entry(1, 100))
    log.write_text("<html></html>")
    append_entry(log, make_entry(1, 100))
    assert [e.id for e in parse_html(log.read_text())] == [1]


def test_cap_keeps_newest(tmp_path):
    log = tmp_path / "BotUrlLog.html"
    for number in range(1, 8):
        append_entry(log, make_entry(number, 100 + number), cap=3)
    assert [e.id for e in read_entries(log)] == [5, 6, 7]
    assert json.loads(json_path(log).read_text())["version"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
