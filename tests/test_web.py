"""The web interface in-process: diff views, status codes, escaping, encoding, CLI equality."""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from runinfodiffer.config import CHECKOUT
from runinfodiffer.web.htmldiff import MAX_PREVIEW_EXTENSION
from tests.conftest import write_config
from tests.web_client import call, link_by_id, summary_rows


def diff_query(run1, run2, *extra: str) -> str:
    return "&".join([f"runnumber1={run1}", f"runnumber2={run2}", *extra])


def cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runinfodiffer", *args, "--config", str(config)],
                          cwd=CHECKOUT, capture_output=True, text=True, timeout=60)


# --- the form ---------------------------------------------------------------------------

def test_home_shows_form_with_all_partitions(web):
    result = call("")
    assert result.status == 200
    boxes = re.findall(r'<input type="checkbox" name="partition" value="([^"]+)" checked>', result.text)
    assert boxes == ["HCAL_HBHE", "HCAL_Laser", "HCAL_HO", "HCAL_HF"]
    assert 'name="runnumber1"' in result.text
    assert 'name="runnumber2"' in result.text


# --- the truncated view -----------------------------------------------------------------

def test_truncated_view_lists_manifest_changes(web):
    manifest = web["manifest"]
    for pair in manifest["pairs"]:
        result = call(diff_query(pair["run1"], pair["run2"]))
        assert result.status == 200, pair

        expected = {(p, part) for p, parts in pair["changes"].items() for part in parts}
        if not expected:
            assert 'id="changes-summary"' not in result.text
            continue
        shown = {(p, part) for p, parts in summary_rows(result.text) for part in parts}
        assert shown == expected, (pair["run1"], pair["run2"])


def test_truncated_view_notes_partitions_not_taking_part(web):
    pair = next(p for p in web["manifest"]["pairs"] if p["not_taking_part"])
    page = call(diff_query(pair["run1"], pair["run2"])).text
    notes = page.split('id="not-taking-part"', 1)[1].split("</ul>", 1)[0]
    for partition, runs in pair["not_taking_part"].items():
        which = " and ".join(f"run {run}" for run in runs)
        assert f"{partition} did not take part in {which}; not compared." in notes


def test_summary_notes_value_not_recorded(web):
    removal = next(i for i in web["manifest"]["injections"] if i["kind"] == "remove")
    pair = next(p for p in web["manifest"]["pairs"] if p["run2"] == removal["run"])
    page = call(diff_query(pair["run1"], pair["run2"])).text
    table = page.split('id="changes-summary"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'<a href="#{removal["parameter"]}">', 1)[1].split("</tr>", 1)[0]
    assert f"<td>not recorded in run {removal['run']}</td>" in row


def test_summary_lists_item_changes(web):
    listed = next(i for i in web["manifest"]["injections"] if i["kind"] == "list")
    pair = next(p for p in web["manifest"]["pairs"] if p["run2"] == listed["run"])
    data = json.loads(call(diff_query(pair["run1"], pair["run2"], "format=json")).text)
    change = next(c for c in data["changes"] if c["parameter"] == listed["parameter"])
    added = ", ".join(change["items"]["added"])
    page = call(diff_query(pair["run1"], pair["run2"])).text
    assert f"<td>added {added}</td>" in page.split('id="changes-summary"', 1)[1].split("</table>", 1)[0]


def test_truncated_view_previews_about_twenty_lines(web):
    largest = web["manifest"]["largest_pair"]
    page = call(diff_query(largest["run1"], largest["run2"])).text
    section = page.split(f'<section class="change" id="{largest["parameter"]}">', 1)[1].split("</section>", 1)[0]
    preview = section.split('<pre class="preview">', 1)[1].split("</pre>", 1)[0]
    shown = preview.count("<span class=\"") - preview.count('<span class="hl">')
    # 20 lines, extended to the end of a change that the 20th line falls in.
    assert 20 <= shown <= 20 + MAX_PREVIEW_EXTENSION
    more = re.search(r"(\d+) more lines\.", section)
    assert more is not None
    assert int(more.group(1)) > 0
    link = re.search(r'<a class="complete-link" href="([^"]+)"', section).group(1).replace("&amp;", "&")
    assert link.endswith(f"view=complete#{largest['parameter']}")


def test_budget_cut_shows_counts_and_link(web, tmp_path, monkeypatch):
    largest = web["manifest"]["largest_pair"]
    config = write_config(tmp_path, web["db"], diff_budget=10)
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(config))
    data = json.loads(call(diff_query(largest["run1"], largest["run2"], "format=json")).text)
    change = next(c for c in data["changes"] if c["parameter"] == largest["parameter"])
    assert change["truncated"] is True

    page = call(diff_query(largest["run1"], largest["run2"])).text
    expected = (f"large diff: {change['added']} lines added, {change['removed']} removed; "
                f"showing {len(change['hunks'])} of {change['total_hunks']} hunks")
    assert expected in page
    assert f"view=complete#{largest['parameter']}" in page


# --- the complete view ------------------------------------------------------------------

def test_complete_view_has_every_changed_line(web):
    largest = web["manifest"]["largest_pair"]
    query = diff_query(largest["run1"], largest["run2"], "view=complete")
    data = json.loads(call(query + "&format=json").text)
    page = call(query).text

    for change in data["changes"]:
        assert change["truncated"] is False
    section = page.split(f'<section class="change" id="{largest["parameter"]}">', 1)[1].split("</section>", 1)[0]
    change = next(c for c in data["changes"] if c["parameter"] == largest["parameter"])
    assert section.count('<td class="del">') == change["removed"]
    assert section.count('<td class="add">') == change["added"]
    assert section.count('<tr class="hunk">') == change["total_hunks"]
    assert f'href="#{largest["parameter"]}"' in section


def test_complete_view_shows_block_context_and_marks(web):
    largest = web["manifest"]["largest_pair"]
    query = diff_query(largest["run1"], largest["run2"], "view=complete")
    data = json.loads(call(query + "&format=json").text)
    page = call(query).text
    change = next(c for c in data["changes"] if c["parameter"] == largest["parameter"])
    with_context = [h for h in change["hunks"] if h["context"]]
    assert with_context
    header = "@@ -{} +{} @@ {}".format(
        _range(with_context[0]["old_start"], with_context[0]["old_count"]),
        _range(with_context[0]["new_start"], with_context[0]["new_count"]),
        with_context[0]["context"],
    )
    assert f'<tr class="hunk"><td colspan="4">{_escape(header)}</td></tr>' in page
    marked = sum(1 for h in change["hunks"] for line in h["lines"] if line["marks"])
    assert marked > 0
    assert page.count('<span class="hl">') >= marked


def test_complete_view_collapses_unchanged_lines(web):
    largest = web["manifest"]["largest_pair"]
    query = diff_query(largest["run1"], largest["run2"], "view=complete")
    data = json.loads(call(query + "&format=json").text)
    change = next(c for c in data["changes"] if c["parameter"] == largest["parameter"])
    page = call(query).text
    first = change["hunks"][0]
    if first["old_start"] > 1:
        assert f"{first['old_start'] - 1} unchanged line" in page
    gap = change["hunks"][1]["old_start"] - (first["old_start"] + first["old_count"])
    assert f"{gap} unchanged line" in page


def test_raw_value_is_stored_start_value(web):
    hostile = web["manifest"]["hostile_pair"]
    result = call(f"view=raw&run={hostile['run2']}&partition={hostile['partition']}&parameter={hostile['parameter']}")
    assert result.status == 200
    assert result.header("Content-Type") == "text/plain; charset=utf-8"

    connection = sqlite3.connect(web["db"])
    expected = connection.execute(
        "SELECT s.VALUE FROM RUNSESSION_PARAMETER p JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID "
        "WHERE p.RUNNUMBER = ? AND UPPER(p.NAME) = UPPER(?) ORDER BY p.ID LIMIT 1",
        (hostile["run2"], f"CMS.{hostile['partition']}:{hostile['parameter']}"),
    ).fetchone()[0]
    connection.close()
    assert result.text == expected
    assert "<script>" in result.text


def test_complete_view_links_raw_values(web):
    hostile = web["manifest"]["hostile_pair"]
    page = call(diff_query(hostile["run1"], hostile["run2"], f"partition={hostile['partition']}", "view=complete")).text
    links = [href.replace("&amp;", "&") for href in re.findall(r'<a class="raw" href="([^"]+)"', page)]
    params = [parse_qs(urlsplit(link).query) for link in links]
    assert {"view": ["raw"], "run": [str(hostile["run2"])], "partition": [hostile["partition"]],
            "parameter": [hostile["parameter"]]} in params


# --- escaping ---------------------------------------------------------------------------

def test_hostile_value_is_escaped(web):
    hostile = web["manifest"]["hostile_pair"]
    for view in ("truncated", "complete"):
        page = call(diff_query(hostile["run1"], hostile["run2"], f"view={view}")).text
        assert "<script" not in page.lower(), view
        assert "&lt;script&gt;" in page, view


def test_pages_forbid_scripts(web):
    hostile = web["manifest"]["hostile_pair"]
    page = call(diff_query(hostile["run1"], hostile["run2"], "view=complete"))
    policy = page.header("Content-Security-Policy")
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert page.header("X-Content-Type-Options") == "nosniff"
    raw = call(f"view=raw&run={hostile['run2']}&partition={hostile['partition']}&parameter={hostile['parameter']}")
    assert raw.header("X-Content-Type-Options") == "nosniff"


def test_hostile_partition_name_is_escaped(web):
    result = call(diff_query(330010, 330015, "partition=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert result.status == 400
    assert "<script>" not in result.text
    assert "&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;" in result.text


# --- formats ----------------------------------------------------------------------------

def test_json_equals_cli(web):
    demo = web["manifest"]["demo_pair"]
    for view, budget in (("truncated", []), ("complete", ["--budget", "0"])):
        web_result = call(diff_query(demo["run1"], demo["run2"], f"view={view}", "format=json"))
        assert web_result.status == 200
        assert web_result.header("Content-Type") == "application/json; charset=utf-8"
        command = cli(web["config"], "diff", "--format", "json", *budget, str(demo["run1"]), str(demo["run2"]))
        assert command.returncode == 1, command.stderr
        assert web_result.text == command.stdout


def test_json_equals_cli_on_revert(web):
    revert = next(i for i in web["manifest"]["injections"] if i["kind"] == "revert")
    pair = next(p for p in web["manifest"]["pairs"] if p["run2"] == revert["run"])
    web_result = call(diff_query(pair["run1"], pair["run2"], "format=json"))
    command = cli(web["config"], "diff", "--format", "json", str(pair["run1"]), str(pair["run2"]))
    assert web_result.text == command.stdout


def test_text_equals_cli(web):
    demo = web["manifest"]["demo_pair"]
    web_result = call(diff_query(demo["run1"], demo["run2"], "format=text"))
    assert web_result.header("Content-Type") == "text/plain; charset=utf-8"
    command = cli(web["config"], "diff", "--no-color", str(demo["run1"]), str(demo["run2"]))
    assert command.returncode == 1, command.stderr
    assert web_result.text == command.stdout
    assert "\033[" not in web_result.text


def test_partitions_restrict_json(web):
    pair = web["manifest"]["pairs"][1]
    data = json.loads(call(diff_query(pair["run1"], pair["run2"], "partition=hcal_hf", "format=json")).text)
    assert data["partitions"] == ["HCAL_HF"]
    assert {c["parameter"] for c in data["changes"]} == {
        p for p, parts in pair["changes"].items() if "HCAL_HF" in parts
    }


# --- links between pairs ----------------------------------------------------------------

def test_step_links_follow_manifest_pairs(web):
    pairs = web["manifest"]["pairs"]
    for index, pair in enumerate(pairs):
        page = call(diff_query(pair["run1"], pair["run2"])).text
        previous, following = link_by_id(page, "step-previous"), link_by_id(page, "step-next")
        if index == 0:
            assert previous is None
        else:
            query = parse_qs(urlsplit(previous).query)
            assert (query["runnumber1"], query["runnumber2"]) == (
                [str(pairs[index - 1]["run1"])], [str(pairs[index - 1]["run2"])])
        if index == len(pairs) - 1:
            assert following is None
        else:
            query = parse_qs(urlsplit(following).query)
            assert (query["runnumber1"], query["runnumber2"]) == (
                [str(pairs[index + 1]["run1"])], [str(pairs[index + 1]["run2"])])


def test_swap_and_steps_keep_partitions(web):
    pair = web["manifest"]["pairs"][3]
    page = call(diff_query(pair["run1"], pair["run2"], "partition=HCAL_HF", "partition=HCAL_HO", "view=complete")).text
    for element in ("swap", "step-previous", "step-next"):
        query = parse_qs(urlsplit(link_by_id(page, element)).query)
        assert query["partition"] == ["HCAL_HF", "HCAL_HO"], element
        assert query["view"] == ["complete"], element
    swap = parse_qs(urlsplit(link_by_id(page, "swap")).query)
    assert (swap["runnumber1"], swap["runnumber2"]) == ([str(pair["run2"])], [str(pair["run1"])])


# --- status codes -----------------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("runnumber2=330015", "run number 1 is missing"),
    ("runnumber1=330010&runnumber2=", "run number 2 is missing"),
    ("runnumber1=abc&runnumber2=330015", "run number 1 must be a non-negative integer, got &#39;abc&#39;"),
    ("runnumber1=-5&runnumber2=330015", "run number 1 must be a non-negative integer, got &#39;-5&#39;"),
    ("runnumber1=1.5&runnumber2=330015", "run number 1 must be a non-negative integer"),
    ("runnumber1=99999999999999999999&runnumber2=330015", "run number 1 99999999999999999999 is too large"),
    ("runnumber1=330010&runnumber2=330015&partition=HCAL_XX", "unknown partition &#39;HCAL_XX&#39;"),
    ("runnumber1=330010&runnumber2=330015&view=fancy", "invalid view &#39;fancy&#39;"),
    ("runnumber1=330010&runnumber2=330015&format=xml", "invalid format &#39;xml&#39;"),
    ("page=nothing", "unknown page &#39;nothing&#39;"),
])
def test_invalid_input_is_400_with_form(web, query, message):
    result = call(query)
    assert result.status == 400
    assert message in result.text
    assert '<form class="diff-form"' in result.text
    assert "Traceback" not in result.text


def test_raw_value_errors_are_plain_400(web):
    result = call("view=raw&run=330010&partition=HCAL_HF&parameter=NOT_IN_CATALOG")
    assert result.status == 400
    assert result.header("Content-Type") == "text/plain; charset=utf-8"
    assert result.text == "error: parameter 'NOT_IN_CATALOG' is not in the catalog for HCAL_HF\n"


def test_unknown_run_is_404(web):
    result = call(diff_query(1, 330015))
    assert result.status == 404
    assert "run 1 not found" in result.text
    assert '<form class="diff-form"' in result.text


def test_unknown_run_in_json_is_plain_404(web):
    result = call(diff_query(330010, 999999, "format=json"))
    assert result.status == 404
    assert result.header("Content-Type") == "text/plain; charset=utf-8"
    assert result.text == "error: run 999999 not found: RunInfo has no HCAL or Level-0 record for it\n"


def test_value_not_recorded_is_404(web):
    local = next(r for r in web["manifest"]["runs"] if r["kind"] == "local" and "HCAL_HF" not in r["partitions"])
    result = call(f"view=raw&run={local['run']}&partition=HCAL_HF&parameter=FM_URI")
    assert result.status == 404
    assert result.text == f"error: FM_URI of HCAL_HF is not recorded in run {local['run']}\n"


def test_missing_database_is_503(web, tmp_path, monkeypatch):
    config = write_config(tmp_path, tmp_path / "gone.sqlite")
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(config))
    result = call(diff_query(330010, 330015))
    assert result.status == 503
    assert "database file not found" in result.text
    assert '<form class="diff-form"' in result.text


def test_unexpected_error_is_plain_500(web, monkeypatch, caplog):
    import runinfodiffer.compare

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(runinfodiffer.compare, "compare_runs", explode)
    with caplog.at_level(logging.ERROR, logger="runinfodiffer.web.app"):
        result = call(diff_query(330010, 330015))
    assert result.status == 500
    assert "secret internal detail" not in result.text
    assert "Traceback" not in result.text
    assert "web server&#39;s error log" in result.text
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


def test_post_is_405(web):
    result = call("", method="POST")
    assert result.status == 405
    assert result.header("Allow") == "GET, HEAD"


def test_head_has_no_body(web):
    get, head = call(diff_query(330010, 330015)), call(diff_query(330010, 330015), method="HEAD")
    assert head.status == 200
    assert head.raw == b""
    assert head.header("Content-Length") == get.header("Content-Length")


# --- encoding ---------------------------------------------------------------------------

def test_headers_are_ascii_with_length(web):
    demo = web["manifest"]["demo_pair"]
    for query in ("", diff_query(demo["run1"], demo["run2"]), "page=runs", diff_query("é", 1)):
        result = call(query)
        for name, value in result.headers:
            assert value.isascii(), (name, value)
        assert result.header("Content-Length") == str(len(result.raw))
        assert "charset=utf-8" in result.header("Content-Type")


def test_percent_encoded_utf8_query(web):
    result = call(diff_query(330010, 330015, "partition=HCAL_%C3%A9"))
    assert result.status == 400
    assert "unknown partition &#39;HCAL_é&#39;" in result.text


def test_raw_utf8_bytes_in_query(web):
    # PEP 3333: the server hands raw bytes over as a latin-1 str.
    query = diff_query(330010, 330015, "partition=HCAL_é").encode("utf-8").decode("latin-1")
    result = call(query)
    assert result.status == 400
    assert "unknown partition &#39;HCAL_é&#39;" in result.text


def test_invalid_utf8_query_is_replaced(web):
    result = call(diff_query(330010, 330015, "partition=HCAL_%FF"))
    assert result.status == 400
    assert "unknown partition &#39;HCAL_\ufffd&#39;" in result.text


def _range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")


def test_config_from_wsgi_environ(web, monkeypatch):
    # mod_wsgi hands SetEnv values to the application in the environ, not os.environ.
    other = web["tmp"] / "other"
    other.mkdir()
    config = write_config(other, other / "elsewhere.sqlite")
    result = call(diff_query(330010, 330015, "format=json"), environ={"RUNINFODIFFER_CONFIG": str(config)})
    assert result.status == 503
    assert str(other / "elsewhere.sqlite") in result.text


def test_truncated_preview_keeps_changes_whole(web):
    # In this pair the first 20 preview lines of both parameters end between the
    # removed and the added lines of one change.
    page = call(diff_query(330019, 330025)).text
    for parameter, last_removed, last_added in [
        ("HCAL_LPMCONTROL", "-main.lpm.bgo_channel7.bx 0xE9", "+main.lpm.bgo_channel7.bx 0xF5"),
        ("CFGDOC_TXT", "-  crate34.slot2.pipeline_length = 0xF0", "+  crate34.slot2.pipeline_length = 0xFE"),
    ]:
        section = page.split(f'<section class="change" id="{parameter}">', 1)[1].split("</section>", 1)[0]
        preview = section.split('<pre class="preview">', 1)[1].split("</pre>", 1)[0]
        preview = re.sub(r'<span class="hl">(.*?)</span>', r"\1", preview)
        lines = [html.unescape(text) for text in re.findall(r'<span class="\w+">(.*?)</span>', preview)]
        assert last_removed in lines
        assert lines[-1] == last_added
        assert "The preview ends inside a change" not in section
