"""A user in headless Chromium: change matrix, the diff of a mark, its history, a step's diff."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.e2e


def watch(page, apache):
    """Collect dialogs, requests to other hosts and Content-Security-Policy messages of `page`."""
    seen = {"dialogs": [], "outside": [], "policy": []}
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: None if request.url.startswith(apache.url) else seen["outside"].append(request.url))
    page.on("console", lambda message: seen["policy"].append(message.text)
            if "Content Security Policy" in message.text else None)
    return seen


def test_matrix_mark_to_history_to_step(apache_site, browser, tmp_path):
    apache, _, manifest = apache_site
    # The largest pair changes CFGDOC_TXT, which changed earlier too, so its history has several steps.
    pair = manifest["largest_pair"]
    parameter = pair["parameter"]
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    seen = watch(page, apache)

    page.goto(f"{apache.url}/cgi-bin/RunInfoDiffer/viewDiffer.py?page=changes")
    mark = page.locator(f'svg#matrix a.mark[data-parameter="{parameter}"][data-run="{pair["run2"]}"]')
    assert mark.count() == 1
    assert mark.locator("rect").bounding_box()["width"] > 0
    page.screenshot(path=str(tmp_path / "matrix.png"))
    mark.locator("rect").click()
    page.wait_for_load_state()
    query = parse_qs(urlsplit(page.url).query)
    assert query["runnumber1"] == [str(pair["run1"])]
    assert query["runnumber2"] == [str(pair["run2"])]
    assert urlsplit(page.url).fragment == parameter
    assert page.locator("h1").inner_text() == f"Run {pair['run1']} → {pair['run2']}"

    page.locator(f"section#{parameter} a.history").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(f"History of {parameter}")
    newest = page.locator("#history tbody tr").first
    assert newest.get_attribute("data-run") == str(pair["run2"])
    assert newest.get_attribute("data-previous-run") == str(pair["run1"])
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)

    older = page.locator("#history tbody tr").nth(1)
    run, previous = older.get_attribute("data-run"), older.get_attribute("data-previous-run")
    older.locator("a.step-diff").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Run {previous} → {run}"
    assert page.locator(f"section#{parameter}").count() == 1
    assert page.locator("script").count() == 0
    assert seen == {"dialogs": [], "outside": [], "policy": []}
    page.close()


def test_history_range_form(apache_site, browser):
    apache, _, manifest = apache_site
    runs = [r["run"] for r in manifest["runs"]]
    page = browser.new_page()
    page.goto(f"{apache.url}/cgi-bin/RunInfoDiffer/viewDiffer.py?page=history&parameter=HCAL_DAQ_RELEASE")
    assert page.locator('input[name="to"]').input_value() == str(max(runs))
    page.fill('input[name="from"]', str(min(runs)))
    page.fill('input[name="to"]', str(min(runs) + 30000))
    page.click("#history-range button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#error-message").inner_text().endswith("the history reads at most 20,000, so narrow the range")
    page.go_back()
    page.fill('input[name="from"]', str(min(runs)))
    page.fill('input[name="to"]', str(max(runs)))
    page.select_option('select[name="global_only"]', "0")
    page.click("#history-range button[type=submit]")
    page.wait_for_load_state()
    query = parse_qs(urlsplit(page.url).query)
    assert query["global_only"] == ["0"]
    assert query["parameter"] == ["HCAL_DAQ_RELEASE"]
    assert page.locator("#history tbody tr").count() >= 2
    page.close()
