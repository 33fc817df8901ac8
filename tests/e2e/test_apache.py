"""The web interface under a real Apache with mod_cgid, the script running as www-data."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from runinfodiffer.config import CHECKOUT
from tests.servers.apache import tail

pytestmark = pytest.mark.e2e

SCRIPT = "/cgi-bin/RunInfoDiffer/viewDiffer.py"


def fetch(apache, path: str, method: str = "GET"):
    """Return (status, headers, body bytes) of a request to `apache`."""
    request = urllib.request.Request(apache.url + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_index_is_served(apache_site):
    apache, _, _ = apache_site
    status, headers, body = fetch(apache, "/RunInfoDiffer/index.html")
    assert status == 200
    assert body == (CHECKOUT / "html" / "index.html").read_bytes()


def test_diff_page_through_cgi(apache_site):
    apache, _, manifest = apache_site
    demo = manifest["demo_pair"]
    status, headers, body = fetch(apache, f"{SCRIPT}?runnumber1={demo['run1']}&runnumber2={demo['run2']}")
    assert status == 200, tail(apache.error_log)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    # Apache 2.4.71 (Debian 12) drops the script's Content-Length and sends CGI output
    # chunked; the in-process tests check the header the application sends.
    if headers["Content-Length"] is not None:
        assert int(headers["Content-Length"]) == len(body)
    assert f"Run {demo['run1']} &rarr; {demo['run2']}" in body.decode("utf-8")


def test_json_through_cgi_equals_in_process(apache_site, monkeypatch):
    apache, site, manifest = apache_site
    demo = manifest["demo_pair"]
    query = f"runnumber1={demo['run1']}&runnumber2={demo['run2']}&format=json"
    status, _, body = fetch(apache, f"{SCRIPT}?{query}")
    assert status == 200, tail(apache.error_log)

    from tests.web_client import call

    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(site.config))
    assert json.loads(body) == json.loads(call(query).raw)


def test_errors_through_cgi(apache_site):
    apache, _, _ = apache_site
    cases = [
        ("runnumber1=abc&runnumber2=1", 400, "run number 1 must be a non-negative integer"),
        ("runnumber1=1&runnumber2=2", 404, "run 1 not found"),
        ("runnumber1=330010&runnumber2=330015&partition=HCAL_%C3%A9", 400, "unknown partition &#39;HCAL_é&#39;"),
    ]
    for query, expected_status, message in cases:
        status, headers, body = fetch(apache, f"{SCRIPT}?{query}")
        text = body.decode("utf-8")
        assert status == expected_status, query
        assert message in text, query
        assert "Traceback" not in text, query
    assert "End of script output before headers" not in tail(apache.error_log, 200)


def test_head_through_cgi(apache_site):
    apache, _, _ = apache_site
    status, headers, body = fetch(apache, f"{SCRIPT}?page=status", method="HEAD")
    assert status == 200
    assert body == b""


def test_cgi_runs_as_www_data(apache_site):
    # A state file readable by root only is unreadable to the script unless it runs as root.
    apache, site, _ = apache_site
    state = site.config.parent / "poller-state.json"
    state.write_text('{"last_run": 330050, "baselines": {}}', encoding="utf-8")
    state.chmod(0o600)
    try:
        status, _, body = fetch(apache, f"{SCRIPT}?page=status")
    finally:
        state.unlink()
    assert status == 200
    assert f"cannot read {state}: Permission denied" in body.decode("utf-8")
