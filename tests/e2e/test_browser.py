"""A user in headless Chromium: the front page through Apache, the form, the complete diff."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.e2e


def test_form_to_complete_diff_of_hostile_value(apache_site, browser, tmp_path):
    apache, _, manifest = apache_site
    hostile = manifest["hostile_pair"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    outside = []
    page.on("request", lambda request: None if request.url.startswith(apache.url) else outside.append(request.url))
    policy_violations = []
    page.on("console", lambda message: policy_violations.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(f"{apache.url}/RunInfoDiffer/index.html")
    boxes = page.locator('input[name="partition"]')
    assert boxes.count() == 4
    assert all(boxes.nth(index).is_checked() for index in range(4))
    page.fill('input[name="runnumber1"]', str(hostile["run1"]))
    page.fill('input[name="runnumber2"]', str(hostile["run2"]))
    page.click('button[type="submit"]')
    page.wait_for_load_state()

    assert "/cgi-bin/RunInfoDiffer/viewDiffer.py?runnumber1=" in page.url
    assert page.locator("h1").inner_text() == f"Run {hostile['run1']} → {hostile['run2']}"
    page.screenshot(path=str(tmp_path / "truncated.png"), full_page=True)

    page.click(f"text=complete diff of {hostile['parameter']}")
    page.wait_for_load_state()
    assert page.url.endswith(f"view=complete#{hostile['parameter']}")
    section = page.locator(f"section#{hostile['parameter']}")
    text = section.inner_text()
    assert '<script>alert("runinfodiffer")</script>' in text
    assert "<b>a &lt; b</b>" in text
    assert page.locator("script").count() == 0
    assert page.locator("section b").count() == 0
    assert dialogs == []
    assert outside == []
    assert policy_violations == []
    # The inline style applies under the page's Content-Security-Policy.
    header_colour = page.locator("header.top").evaluate("element => getComputedStyle(element).backgroundColor")
    assert header_colour == "rgb(36, 41, 47)"
    page.screenshot(path=str(tmp_path / "complete.png"), full_page=False)
    page.close()


def test_step_and_swap_links(apache_site, browser):
    apache, _, manifest = apache_site
    pairs = manifest["pairs"]
    page = browser.new_page()
    page.goto(f"{apache.url}/cgi-bin/RunInfoDiffer/viewDiffer.py?runnumber1={pairs[1]['run1']}&runnumber2={pairs[1]['run2']}")
    page.click("#step-next")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Run {pairs[2]['run1']} → {pairs[2]['run2']}"
    page.click("#swap")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Run {pairs[2]['run2']} → {pairs[2]['run1']}"
    page.close()


def test_run_list_picks_two_runs(apache_site, browser):
    apache, _, manifest = apache_site
    page = browser.new_page()
    page.goto(f"{apache.url}/RunInfoDiffer/index.html")
    page.click("text=Runs")
    page.wait_for_load_state()
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 25
    newest, third = rows.nth(0).get_attribute("data-run"), rows.nth(2).get_attribute("data-run")
    page.check(f'input[name="runnumber1"][value="{third}"]')
    page.check(f'input[name="runnumber2"][value="{newest}"]')
    page.click("#pick-runs button[type=submit]")
    page.wait_for_load_state()
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"runnumber1": [third], "runnumber2": [newest]}
    assert page.locator("h1").inner_text() == f"Run {third} → {newest}"
    page.close()
