"""The history page, history links and revert marks in the diff views, and the change matrix."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import write_config
from tests.web_client import call

PARTITIONS = ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")


def label_at(manifest, parameter, partition, run):
    """Return the value key of (parameter, partition) in effect at `run`, from the manifest."""
    label = manifest["initial_values"][partition].get(parameter)
    for injection in manifest["injections"]:
        if (injection["parameter"], injection["partition"]) == (parameter, partition) and injection["run"] <= run:
            label = injection["value"]
    return label


def expected_steps(manifest, parameter, partition, global_only=True):
    """Return [(run, previous run)] where the value key changed between runs the partition took part in."""
    runs = [r["run"] for r in manifest["runs"]
            if partition in r["partitions"] and (r["kind"] == "global" or not global_only)]
    return [(run, previous) for previous, run in zip(runs, runs[1:])
            if label_at(manifest, parameter, partition, run) != label_at(manifest, parameter, partition, previous)]


def history_rows(page):
    """Return (run, previous run) of each row of the history table, in page order."""
    return [(int(run), int(previous))
            for run, previous in re.findall(r'<tr data-run="(\d+)" data-previous-run="(\d+)">', page)]


def history_row(page, run):
    return page.split(f'<tr data-run="{run}" ', 1)[1].split("</tr>", 1)[0]


def hrefs(fragment, css_class):
    return [href.replace("&amp;", "&") for href in re.findall(rf'<a class="{css_class}" href="([^"]+)"', fragment)]


def error_message(page):
    match = re.search(r'<p class="error" id="error-message">([^<]*)</p>', page)
    return match.group(1) if match else None


# --- the history page -------------------------------------------------------------------

@pytest.mark.parametrize("parameter,partition", [
    ("HCAL_DAQ_RELEASE", "HCAL_HBHE"),
    ("HCAL_uHTRManager_zsSimpleThreshold", "HCAL_HF"),
    ("CFGDOC_TXT", "HCAL_HBHE"),
    ("HCAL_uHTRManager_DisableZS", "HCAL_HF"),
    ("MASKED_RESOURCES", "HCAL_HBHE"),
])
def test_history_lists_manifest_steps(web, parameter, partition):
    manifest = web["manifest"]
    expected = expected_steps(manifest, parameter, partition)
    assert expected, "the sample must change this parameter"
    result = call(f"page=history&parameter={parameter}&partition={partition}")
    assert result.status == 200
    assert history_rows(result.text) == list(reversed(expected))


def test_history_default_range_ends_at_latest_run(web):
    latest = max(r["run"] for r in web["manifest"]["runs"])
    page = call("page=history&parameter=FM_URL&partition=HCAL_HF").text
    assert f'name="to" value="{latest}"' in page
    assert f'name="from" value="{latest - 199}"' in page
    assert '<option value="1" selected>global runs only</option>' in page


def test_history_counts_runs_read(web):
    manifest = web["manifest"]
    globals_hf = [r["run"] for r in manifest["runs"] if r["kind"] == "global" and "HCAL_HF" in r["partitions"]]
    page = call("page=history&parameter=FM_URL&partition=HCAL_HF").text
    summary = page.split('<p id="history-summary">', 1)[1].split("</p>", 1)[0]
    assert f"{len(globals_hf)} global runs read, {globals_hf[0]} to {globals_hf[-1]}." in summary


def test_history_with_local_runs(web):
    # A partition's LOCAL_RUNKEY_SELECTED is the run key: global_HCAL, or a local key such as LED-HBHE.
    runs = [r for r in web["manifest"]["runs"] if "HCAL_HBHE" in r["partitions"]]
    expected = [(run["run"], previous["run"]) for previous, run in zip(runs, runs[1:])
                if run["run_key"] != previous["run_key"]]
    assert any(run["kind"] == "local" for run in runs)
    page = call("page=history&parameter=LOCAL_RUNKEY_SELECTED&partition=HCAL_HBHE&global_only=0").text
    assert history_rows(page) == list(reversed(expected))
    assert '<option value="0" selected>global and local runs</option>' in page
    assert history_rows(call("page=history&parameter=LOCAL_RUNKEY_SELECTED&partition=HCAL_HBHE").text) == []


def test_history_range_limits_steps(web):
    manifest = web["manifest"]
    expected = expected_steps(manifest, "HCAL_DAQ_RELEASE", "HCAL_HBHE")
    run, previous = expected[0]
    page = call(f"page=history&parameter=HCAL_DAQ_RELEASE&partition=HCAL_HBHE&from={previous}&to={run}").text
    assert history_rows(page) == [(run, previous)]
    later = call(f"page=history&parameter=HCAL_DAQ_RELEASE&partition=HCAL_HBHE&from={run}&to={run + 1}").text
    assert history_rows(later) == []
    assert "0 changes in runs" in later


def test_history_marks_reverts(web):
    manifest = web["manifest"]
    checked = 0
    for injection in (i for i in manifest["injections"] if i["kind"] == "revert"):
        parameter, partition = injection["parameter"], injection["partition"]
        if injection["run"] not in [run for run, _ in expected_steps(manifest, parameter, partition)]:
            continue  # the partition did not take part in that run
        page = call(f"page=history&parameter={parameter}&partition={partition}").text
        row = history_row(page, injection["run"])
        source = int(re.search(r'<div class="revert">reverted to the value of run (\d+)</div>', row).group(1))
        assert label_at(manifest, parameter, partition, source) == injection["value"], injection
        checked += 1
    assert checked >= 3


def test_history_shows_short_values_inline(web):
    manifest = web["manifest"]
    run, previous = expected_steps(manifest, "HCAL_DAQ_RELEASE", "HCAL_HBHE")[0]
    page = call("page=history&parameter=HCAL_DAQ_RELEASE&partition=HCAL_HBHE").text
    old = call(f"view=raw&run={previous}&partition=HCAL_HBHE&parameter=HCAL_DAQ_RELEASE").text.strip()
    new = call(f"view=raw&run={run}&partition=HCAL_HBHE&parameter=HCAL_DAQ_RELEASE").text.strip()
    assert f'<span class="mono">{old}</span> &rarr; <span class="mono">{new}</span>' in history_row(page, run)


def test_history_step_links_open_their_diff(web):
    manifest = web["manifest"]
    expected = expected_steps(manifest, "CFGDOC_TXT", "HCAL_HBHE")
    page = call("page=history&parameter=CFGDOC_TXT&partition=HCAL_HBHE").text
    for run, previous in expected:
        (link,) = hrefs(history_row(page, run), "step-diff")
        parts = urlsplit(link)
        assert parse_qs(parts.query) == {"runnumber1": [str(previous)], "runnumber2": [str(run)],
                                         "partition": ["HCAL_HBHE"]}
        assert parts.fragment == "CFGDOC_TXT"
        diff = call(parts.query)
        assert diff.status == 200
        assert '<section class="change" id="CFGDOC_TXT">' in diff.text


def test_history_groups_partitions(web):
    manifest = web["manifest"]
    run, previous = expected_steps(manifest, "HCAL_DAQ_RELEASE", "HCAL_HBHE")[0]
    together = [p for p in PARTITIONS if (run, previous) in expected_steps(manifest, "HCAL_DAQ_RELEASE", p)]
    assert len(together) > 1
    page = call("page=history&parameter=HCAL_DAQ_RELEASE").text
    row = history_row(page, run)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert sorted(cells[0].split(", ")) == sorted(together)


@pytest.mark.parametrize("query,status,message", [
    ("page=history", 400, "parameter is missing"),
    ("page=history&parameter=NO_SUCH_NAME", 400, "parameter &#39;NO_SUCH_NAME&#39; is not in the catalog"),
    ("page=history&parameter=FM_URL&partition=HCAL_XX", 400, "unknown partition &#39;HCAL_XX&#39;"),
    ("page=history&parameter=uHTRManager_Firmware_Crate22&partition=HCAL_HBHE", 400,
     "parameter uHTRManager_Firmware_Crate22 is not in the catalog for HCAL_HBHE: it is diffed for HCAL_HF"),
    ("page=history&parameter=FM_URL&from=330050&to=330010", 400, "from 330050 is above to 330010"),
    ("page=history&parameter=FM_URL&from=300000&to=330010", 400, "span 30,011 run numbers"),
    ("page=history&parameter=FM_URL&from=1&to=-5", 400, "to must be a non-negative integer, got &#39;-5&#39;"),
    ("page=history&parameter=FM_URL&from=abc", 400, "from must be a non-negative integer"),
    ("page=history&parameter=FM_URL&global_only=yes", 400, "invalid global_only &#39;yes&#39;"),
])
def test_history_rejects_bad_input(web, query, status, message):
    result = call(query)
    assert result.status == status
    assert message in error_message(result.text)


def test_history_escapes_parameter_in_error(web):
    result = call("page=history&parameter=%3Cscript%3Ealert(1)%3C/script%3E")
    assert result.status == 400
    assert "<script>" not in result.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.text


def test_history_matches_parameter_case(web):
    result = call("page=history&parameter=fm_url&partition=hcal_hf")
    assert result.status == 200
    assert '<input type="hidden" name="parameter" value="FM_URL">' in result.text
    assert '<input type="hidden" name="partition" value="HCAL_HF">' in result.text


def test_history_database_unreachable_is_503(web, tmp_path, monkeypatch):
    folder = tmp_path / "unreachable"
    folder.mkdir()
    config = write_config(folder, folder / "absent.sqlite")
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(config))
    result = call("page=history&parameter=FM_URL")
    assert result.status == 503


# --- links and revert marks in the diff views -------------------------------------------

def test_diff_views_link_each_change_to_history(web):
    pair = web["manifest"]["demo_pair"]
    for view in ("", "&view=complete"):
        page = call(f"runnumber1={pair['run1']}&runnumber2={pair['run2']}{view}").text
        links = hrefs(page, "history")
        found = {}
        for link in links:
            query = parse_qs(urlsplit(link).query)
            assert query["page"] == ["history"]
            assert query["to"] == [str(pair["run2"])]
            found.setdefault(query["parameter"][0], set()).update(query["partition"])
        # A parameter whose new value differs between partitions has one change, and link, per value.
        assert found == {parameter: set(partitions) for parameter, partitions in pair["changes"].items()}


def test_history_link_shows_the_diff_as_latest_step(web):
    pair = web["manifest"]["demo_pair"]
    page = call(f"runnumber1={pair['run1']}&runnumber2={pair['run2']}").text
    link = hrefs(page, "history")[0]
    history = call(urlsplit(link).query)
    assert history.status == 200
    assert history_rows(history.text)[0][0] == pair["run2"]


def revert_pair(manifest):
    """Return (pair, revert injection) for a compared pair whose run2 reverts a parameter it changes."""
    for injection in (i for i in manifest["injections"] if i["kind"] == "revert"):
        for pair in manifest["pairs"]:
            if pair["run2"] == injection["run"] and injection["partition"] in pair["changes"].get(injection["parameter"], []):
                return pair, injection
    raise AssertionError("the sample has no compared pair with a revert")


def test_text_format_marks_revert(web):
    manifest = web["manifest"]
    pair, injection = revert_pair(manifest)
    text = call(f"runnumber1={pair['run1']}&runnumber2={pair['run2']}&format=text").text
    block = text.split(f"== {injection['parameter']} [", 1)[1].split("\n== ", 1)[0]
    source = int(re.search(r"\n   reverted to the value of run (\d+)\n", block).group(1))
    assert source < pair["run1"]
    assert label_at(manifest, injection["parameter"], injection["partition"], source) == injection["value"]


def test_json_and_html_mark_revert(web):
    manifest = web["manifest"]
    pair, injection = revert_pair(manifest)
    data = json.loads(call(f"runnumber1={pair['run1']}&runnumber2={pair['run2']}&format=json").text)
    change = next(c for c in data["changes"]
                  if c["parameter"] == injection["parameter"] and injection["partition"] in c["partitions"])
    source = change["reverted_to"]
    assert label_at(manifest, injection["parameter"], injection["partition"], source) == injection["value"]
    for view in ("", "&view=complete"):
        page = call(f"runnumber1={pair['run1']}&runnumber2={pair['run2']}{view}").text
        assert f"reverted to the value of run {source}" in page


def test_swapped_diff_has_no_revert_marks(web):
    pair, _ = revert_pair(web["manifest"])
    data = json.loads(call(f"runnumber1={pair['run2']}&runnumber2={pair['run1']}&format=json").text)
    assert [c["reverted_to"] for c in data["changes"]] == [None] * len(data["changes"])


# --- the change matrix ------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def matrix_svg(page):
    """Return the change matrix of the recent-changes page, parsed as XML."""
    import xml.etree.ElementTree as ET

    start = page.index('<svg xmlns="http://www.w3.org/2000/svg" id="matrix"')
    end = page.index("</svg>", start) + len("</svg>")
    return ET.fromstring(page[start:end])


def svg_marks(svg):
    """Return {(parameter, run): (kind, href or None, title)} of every mark in the matrix."""
    marks = {}
    for element in svg.iter():
        classes = (element.get("class") or "").split()
        if "mark" not in classes:
            continue
        kind = "changed" if "changed" in classes else "absent"
        title = element.find(f"{SVG}title").text
        marks[(element.get("data-parameter"), int(element.get("data-run")))] = (kind, element.get("href"), title)
    return marks


def compared_runs(manifest):
    return [r for r in manifest["runs"] if r["kind"] == "global" and r["reached_running"] and r["hcal_in"]]


def expected_matrix(manifest, catalog, count):
    """Return (shown runs, changed {(parameter, run): {partition: previous run}}, absent {(parameter, run)})."""
    window = compared_runs(manifest)[-(count + 1):]
    last_seen = {}
    changed, absent = {}, set()
    for run in window:
        for parameter, listed in catalog.parameters.items():
            for partition in listed:
                previous = last_seen.get(partition)
                if partition in run["partitions"] and previous is not None and \
                        label_at(manifest, parameter, partition, run["run"]) != label_at(manifest, parameter, partition, previous):
                    changed.setdefault((parameter, run["run"]), {})[partition] = previous
            if (parameter, run["run"]) not in changed and any(p not in run["partitions"] for p in listed):
                absent.add((parameter, run["run"]))
        for partition in run["partitions"]:
            last_seen[partition] = run["run"]
    shown = [r["run"] for r in window[1:]]
    return shown, changed, {key for key in absent if key[1] in shown}


@pytest.fixture()
def catalog():
    from runinfodiffer.catalog import load_catalog
    from runinfodiffer.config import CHECKOUT

    return load_catalog(CHECKOUT / "diffed_parameters.txt")


@pytest.mark.parametrize("count", [None, 10])
def test_matrix_marks_manifest_changes(web, catalog, count):
    manifest = web["manifest"]
    page = call("page=changes" + (f"&matrix_runs={count}" if count else "")).text
    shown, changed, absent = expected_matrix(manifest, catalog, count or 50)
    svg = matrix_svg(page)
    marks = svg_marks(svg)

    columns = [int(element.find(f"{SVG}text").text) for element in svg.iter(f"{SVG}a")
               if element.get("class") == "run"]
    assert columns == shown
    rows = [element.find(f"{SVG}text").text for element in svg.iter(f"{SVG}a") if element.get("class") == "parameter"]
    assert rows == [name for name in catalog.parameters if any((name, run) in changed for run in shown)]
    assert {key for key, mark in marks.items() if mark[0] == "changed"} == {key for key in changed if key[1] in shown}
    assert {key for key, mark in marks.items() if mark[0] == "absent"} == {key for key in absent if key[0] in rows}


def test_matrix_marks_link_to_step_diff(web, catalog):
    manifest = web["manifest"]
    _, changed, _ = expected_matrix(manifest, catalog, 50)
    marks = svg_marks(matrix_svg(call("page=changes").text))
    followed = split_anchors = 0
    for (parameter, run), since in changed.items():
        kind, href, title = marks[(parameter, run)]
        query = parse_qs(urlsplit(href).query)
        first_partition = next(p for p in catalog.partitions if p in since)
        assert query["runnumber1"] == [str(since[first_partition])]
        assert query["runnumber2"] == [str(run)]
        assert query["partition"] == [p for p in catalog.partitions if since.get(p) == since[first_partition]]
        assert title.startswith(f"run {run}: {parameter} changed in {first_partition} since run ")
        fragment = urlsplit(href).fragment
        assert fragment.split("--")[0] == parameter
        diff = call(urlsplit(href).query)
        assert diff.status == 200
        assert f'<section class="change" id="{fragment}">' in diff.text
        followed += 1
        # A parameter whose new value differs between the linked partitions has one change per value.
        split_anchors += "--" in fragment
    assert followed == len(changed)
    assert split_anchors >= 1


def test_matrix_absent_mark_names_partition(web, catalog):
    manifest = web["manifest"]
    out = next(r for r in compared_runs(manifest) if 0 < len(r["partitions"]) < 4)
    missing = [p for p in catalog.partitions if p not in out["partitions"]]
    marks = svg_marks(matrix_svg(call("page=changes").text))
    titles = [title for (parameter, run), (kind, _, title) in marks.items() if run == out["run"] and kind == "absent"]
    assert titles
    for title in titles:
        assert title.startswith(f"run {out['run']}: ")
        assert title.endswith(" did not take part")
        assert set(title[len(f"run {out['run']}: "):-len(" did not take part")].split(", ")) <= set(missing)


def test_matrix_row_labels_link_history(web):
    svg = matrix_svg(call("page=changes").text)
    shown = [int(element.find(f"{SVG}text").text) for element in svg.iter(f"{SVG}a") if element.get("class") == "run"]
    labels = [element for element in svg.iter(f"{SVG}a") if element.get("class") == "parameter"]
    assert labels
    for label in labels:
        query = parse_qs(urlsplit(label.get("href")).query)
        assert query == {"page": ["history"], "parameter": [label.find(f"{SVG}text").text],
                         "from": [str(shown[0])], "to": [str(shown[-1])]}


def test_matrix_has_no_script_or_external_reference(web):
    page = call("page=changes").text
    svg = matrix_svg(page)
    assert "<script" not in page
    assert [element.tag for element in svg.iter() if element.tag.endswith("script")] == []
    for element in svg.iter():
        for name, value in element.attrib.items():
            if name in ("href", "{http://www.w3.org/1999/xlink}href"):
                assert value.startswith("/cgi-bin/RunInfoDiffer/viewDiffer.py?"), value


@pytest.mark.parametrize("value", ["9", "201", "abc", "-10", "٣٠"])
def test_matrix_rejects_bad_run_count(web, value):
    result = call(f"page=changes&matrix_runs={value}")
    assert result.status == 400
    assert "invalid matrix_runs" in error_message(result.text)
    assert "use a number of runs from 10 to 200" in error_message(result.text)


def test_matrix_without_database_keeps_change_log(web, tmp_path, monkeypatch):
    folder = tmp_path / "unreachable"
    folder.mkdir()
    config = write_config(folder, folder / "absent.sqlite", change_log=str(tmp_path / "BotUrlLog.html"))
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(config))
    result = call("page=changes")
    assert result.status == 200
    assert '<p class="warning" id="matrix-problem">The change matrix is not available: ' in result.text
    assert 'id="no-changes"' in result.text
