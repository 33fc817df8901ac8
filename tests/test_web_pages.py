"""The web pages around the diff, the static front page, the CGI script and `serve`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from runinfodiffer.catalog import load_catalog
from runinfodiffer.changelog import Comparison, Entry, append_entry
from runinfodiffer.config import CHECKOUT
from runinfodiffer.poller import summarize
from runinfodiffer.web.index import render_index
from tests.web_client import SCRIPT, call

ATOM = "{http://www.w3.org/2005/Atom}"


# --- html/index.html --------------------------------------------------------------------

def test_index_matches_catalog():
    catalog = load_catalog(CHECKOUT / "diffed_parameters.txt")
    committed = (CHECKOUT / "html" / "index.html").read_text(encoding="utf-8")
    assert committed == render_index(catalog), "regenerate with: python -m runinfodiffer.web.index"
    boxes = re.findall(r'<input type="checkbox" name="partition" value="([^"]+)"( checked)?>', committed)
    assert [name for name, _ in boxes] == catalog.partitions
    assert all(checked for _, checked in boxes)


def test_index_loads_nothing_external():
    page = (CHECKOUT / "html" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert re.findall(r'(?:src|href|action)="(?:https?:)?//', page) == []
    assert 'action="../cgi-bin/RunInfoDiffer/viewDiffer.py"' in page
    assert 'method="get"' in page
    for page_name in ("changes", "runs", "status"):
        assert f'href="../cgi-bin/RunInfoDiffer/viewDiffer.py?page={page_name}"' in page


# --- recent changes ---------------------------------------------------------------------

def _log_two_entries(log: Path) -> None:
    append_entry(log, Entry(1, "2026-12-04T10:00:00Z", 330015, "1 parameter changed in HCAL_HF", [
        Comparison(330010, 330015, ["HCAL_HF"], 1, "http://x/a", "http://x/a&format=text")]))
    append_entry(log, Entry(2, "2026-12-04T11:00:00Z", 330019, "2 parameters <changed> & more", [
        Comparison(330015, 330019, ["HCAL_HBHE", "HCAL_HF"], 2, "http://x/b", "http://x/b&format=text"),
        Comparison(330010, 330019, ["HCAL_HO"], 1, "http://x/c", "http://x/c&format=text")]))


def test_changes_page_newest_first(web):
    _log_two_entries(web["tmp"] / "BotUrlLog.html")
    result = call("page=changes")
    assert result.status == 200
    assert re.findall(r'<li class="entry" id="entry-(\d+)" data-run="(\d+)">', result.text) == [
        ("2", "330019"), ("1", "330015")]
    assert "2 parameters &lt;changed&gt; &amp; more" in result.text
    links = [href.replace("&amp;", "&") for href in re.findall(r'<a class="view" href="([^"]+)"', result.text)]
    assert [parse_qs(urlsplit(link).query) for link in links] == [
        {"runnumber1": ["330015"], "runnumber2": ["330019"], "partition": ["HCAL_HBHE", "HCAL_HF"]},
        {"runnumber1": ["330010"], "runnumber2": ["330019"], "partition": ["HCAL_HO"]},
        {"runnumber1": ["330010"], "runnumber2": ["330015"], "partition": ["HCAL_HF"]},
    ]
    assert all(link.startswith(SCRIPT + "?") for link in links)


def test_changes_page_links_feed(web):
    page = call("page=changes").text
    assert (f'<link rel="alternate" type="application/atom+xml" title="HCAL configuration changes" '
            f'href="{SCRIPT}?page=changes&amp;format=atom">') in page


def test_changes_page_without_log(web):
    result = call("page=changes")
    assert result.status == 200
    assert 'id="no-changes"' in result.text


def test_changes_atom_feed_is_valid(web):
    _log_two_entries(web["tmp"] / "BotUrlLog.html")
    result = call("page=changes&format=atom")
    assert result.status == 200
    assert result.header("Content-Type") == "application/atom+xml; charset=utf-8"

    feed = ET.fromstring(result.raw)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text.startswith("urn:uuid:")
    assert feed.find(f"{ATOM}updated").text == "2026-12-04T11:00:00Z"
    assert feed.find(f"{ATOM}title").text
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "RunInfoDiffer"
    self_link = feed.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == f"http://hcalmon.test{SCRIPT}?page=changes&format=atom"

    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}updated").text for e in entries] == ["2026-12-04T11:00:00Z", "2026-12-04T10:00:00Z"]
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 2
    assert all(i.startswith("urn:uuid:") for i in ids)
    assert entries[0].find(f"{ATOM}title").text == "Run 330019: 2 parameters <changed> & more"
    alternate = entries[0].find(f"{ATOM}link[@rel='alternate']").get("href")
    assert alternate == f"http://hcalmon.test{SCRIPT}?runnumber1=330015&runnumber2=330019&partition=HCAL_HBHE&partition=HCAL_HF"
    assert len(entries[0].findall(f"{ATOM}link[@rel='related']")) == 1


def test_poller_summary_shows_run_once(web):
    comparisons = [Comparison(330092, 330099, ["HCAL_HBHE", "HCAL_HF"], 3, "http://x/d", "http://x/d&format=text")]
    summary = summarize(330099, comparisons)
    append_entry(web["tmp"] / "BotUrlLog.html", Entry(3, "2026-12-04T12:00:00Z", 330099, summary, comparisons))

    page = call("page=changes").text
    item = page.split('<li class="entry" id="entry-3"', 1)[1].split("<ul>", 1)[0]
    assert "Run 330099: 3 parameters changed in HCAL_HBHE, HCAL_HF (since run 330092)" in item
    assert item.lower().count("run 330099") == 1

    feed = ET.fromstring(call("page=changes&format=atom").raw)
    title = feed.find(f"{ATOM}entry/{ATOM}title").text
    assert title == "Run 330099: 3 parameters changed in HCAL_HBHE, HCAL_HF (since run 330092)"


def test_atom_ids_are_stable(web):
    _log_two_entries(web["tmp"] / "BotUrlLog.html")
    first = ET.fromstring(call("page=changes&format=atom").raw)
    second = ET.fromstring(call("page=changes&format=atom").raw)
    assert [e.text for e in first.iter(f"{ATOM}id")] == [e.text for e in second.iter(f"{ATOM}id")]


def test_empty_atom_feed_has_updated(web):
    feed = ET.fromstring(call("page=changes&format=atom").raw)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.find(f"{ATOM}updated").text)
    assert feed.findall(f"{ATOM}entry") == []


def test_corrupt_change_log_is_500(web):
    (web["tmp"] / "BotUrlLog.json").write_text("{not json", encoding="utf-8")
    result = call("page=changes")
    assert result.status == 500
    assert "cannot be read" in result.text


# --- run list ---------------------------------------------------------------------------

def _run_rows(page: str):
    return re.findall(r'<tr data-run="(\d+)">.*?<td>(global|local)</td>.*?<td>([^<]*)</td>\s*</tr>', page, re.S)


def test_run_list_pages(web):
    # A global run with HCAL Out has no HCAL level-one record, so it is no HCAL run.
    runs = sorted((r for r in web["manifest"]["runs"] if r["hcal_in"] is not False),
                  key=lambda r: r["run"], reverse=True)
    assert 25 < len(runs) < 50
    by_run = {r["run"]: r for r in runs}

    first = call("page=runs")
    assert first.status == 200
    rows = _run_rows(first.text)
    assert [int(run) for run, _, _ in rows] == [r["run"] for r in runs[:25]]
    for run, kind, partitions in rows:
        record = by_run[int(run)]
        assert kind == record["kind"], run
        took_part = [p for p in record["partitions"] if p not in record["empty_fms"]]
        assert sorted(partitions.split(", ") if partitions else []) == sorted(took_part), run

    older = re.search(r'<a id="older" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(older).query) == {"page": ["runs"], "before": [str(runs[24]["run"])]}
    second = call(urlsplit(older).query)
    assert [int(run) for run, _, _ in _run_rows(second.text)] == [r["run"] for r in runs[25:]]
    assert 'id="older"' not in second.text


def test_run_list_shows_configuration(web):
    page = call("page=runs").text
    local = next(r for r in sorted(web["manifest"]["runs"], key=lambda r: -r["run"]) if r["kind"] == "local")
    row = page.split(f'<tr data-run="{local["run"]}">', 1)[1].split("</tr>", 1)[0]
    assert "/hcalpro/Local/" in row
    assert f'<td class="mono">{local["run_key"]}</td>' in row


def test_run_list_radios_diff_two_runs(web):
    page = call("page=runs").text
    assert page.count('type="radio" name="runnumber1"') == 25
    assert page.count('type="radio" name="runnumber2"') == 25
    assert '<form method="get" action="/cgi-bin/RunInfoDiffer/viewDiffer.py" id="pick-runs">' in page


def test_run_list_rejects_bad_before(web):
    result = call("page=runs&before=x")
    assert result.status == 400
    assert "before must be a non-negative integer" in result.text


# --- poller status ----------------------------------------------------------------------

def test_status_before_first_poll(web):
    result = call("page=status")
    assert result.status == 200
    assert "The poller has not run yet" in result.text


def test_status_shows_state(web):
    state = {"last_run": 330050, "baselines": {"HCAL_HF": 330050, "HCAL_Laser": 330046},
             "next_entry_id": 9, "heartbeat": "2026-12-04T20:00:00Z", "last_poll": "2026-12-04T19:59:30Z", "pid": 4242}
    (web["tmp"] / "poller-state.json").write_text(json.dumps(state), encoding="utf-8")
    page = call("page=status").text
    assert '<td id="last-run">330050</td>' in page
    assert "2026-12-04T19:59:30Z" in page
    assert re.findall(r"<tr><td>(HCAL_\w+)</td><td class=\"num\">(\d+)</td></tr>", page) == [
        ("HCAL_HF", "330050"), ("HCAL_Laser", "330046")]
    assert 'id="stale"' in page  # the heartbeat above is far older than three poll intervals


def test_status_with_invalid_state(web):
    (web["tmp"] / "poller-state.json").write_text("[1, 2", encoding="utf-8")
    result = call("page=status")
    assert result.status == 200
    assert 'id="state-problem"' in result.text
    assert "is not valid JSON" in result.text


# --- the CGI script and the import budget -------------------------------------------------

def _cgi_environ(query: str, config: Path) -> dict:
    return {"PATH": os.environ["PATH"], "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "QUERY_STRING": query, "SCRIPT_NAME": SCRIPT, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "RUNINFODIFFER_CONFIG": str(config), "LC_CTYPE": "C.UTF-8"}


def test_cgi_script_answers(web):
    demo = web["manifest"]["demo_pair"]
    query = f"runnumber1={demo['run1']}&runnumber2={demo['run2']}&format=json"
    done = subprocess.run([sys.executable, str(CHECKOUT / "cgi-bin" / "viewDiffer.py")],
                          env=_cgi_environ(query, web["config"]), capture_output=True, timeout=60)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert done.returncode == 0, done.stderr
    assert head.split(b"\r\n")[0] == b"Status: 200 OK"
    assert b"Content-Type: application/json; charset=utf-8" in head.split(b"\r\n")
    assert f"Content-Length: {len(body)}".encode() in head.split(b"\r\n")
    assert json.loads(body)["run1"] == demo["run1"]


def test_cgi_script_400_for_bad_run(web):
    done = subprocess.run([sys.executable, str(CHECKOUT / "cgi-bin" / "viewDiffer.py")],
                          env=_cgi_environ("runnumber1=x&runnumber2=1", web["config"]), capture_output=True, timeout=60)
    assert done.stdout.startswith(b"Status: 400 Bad Request\r\n")
    assert b"Traceback" not in done.stdout + done.stderr


IMPORT_PROBE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from runinfodiffer.web.app import application
environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": sys.argv[2], "SCRIPT_NAME": "/v.py",
           "SERVER_NAME": "x", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
status = []
body = b"".join(application(environ, lambda s, h: status.append(s)))
print(json.dumps({"status": status[0], "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("view", ["truncated", "complete"])
def test_request_imports_no_bot_modules(web, view):
    demo = web["manifest"]["demo_pair"]
    query = f"runnumber1={demo['run1']}&runnumber2={demo['run2']}&view={view}"
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, str(CHECKOUT), query],
                          env={**os.environ, "RUNINFODIFFER_CONFIG": str(web["config"])},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "200 OK"
    tops = {name.split(".")[0] for name in report["modules"]}
    for forbidden in ("slack_sdk", "requests", "urllib3", "cgi", "cgitb", "oracledb", "socks"):
        assert forbidden not in tops, forbidden
    assert "runinfodiffer.notify" not in report["modules"]


def test_json_request_skips_jinja(web):
    demo = web["manifest"]["demo_pair"]
    query = f"runnumber1={demo['run1']}&runnumber2={demo['run2']}&format=json"
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, str(CHECKOUT), query],
                          env={**os.environ, "RUNINFODIFFER_CONFIG": str(web["config"])},
                          capture_output=True, text=True, timeout=60)
    report = json.loads(done.stdout)
    assert report["status"] == "200 OK"
    assert "jinja2" not in report["modules"]
    assert "markupsafe" not in report["modules"]


# --- runinfodiffer serve ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_runs_site(web):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "runinfodiffer", "serve", "--port", str(port),
                               "--config", str(web["config"])], cwd=CHECKOUT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                index = urllib.request.urlopen(f"{base}/RunInfoDiffer/index.html", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        assert 'action="../cgi-bin/RunInfoDiffer/viewDiffer.py"' in index

        demo = web["manifest"]["demo_pair"]
        query = f"runnumber1={demo['run1']}&runnumber2={demo['run2']}&format=json"
        for script in ("/cgi-bin/RunInfoDiffer/viewDiffer.py", "/cgi-bin/viewDiffer.py"):
            data = json.loads(urllib.request.urlopen(f"{base}{script}?{query}", timeout=30).read())
            assert (data["run1"], data["run2"]) == (demo["run1"], demo["run2"])

        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/RunInfoDiffer/%2e%2e/%2e%2e/runinfodiffer.toml", timeout=5)
        assert missing.value.code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
