"""DifferBot cycles against a real HTTP change log and a local Slack-compatible endpoint."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest

from runinfodiffer.notify.bot import DifferBot
from runinfodiffer.notify.message import SECTION_LIMIT
from runinfodiffer.notify.notifiers import make_notifiers
from runinfodiffer.notify.settings import BotSettings
from tests.servers.bot_site import Site, run_of
from tests.servers.slack_endpoint import SlackEndpoint
from tests.servers.static_web import StaticWebServer

HOSTILE = ("+<mastersnippet><CfgScript Partition=\"HF;HO\">a &amp; b</CfgScript></mastersnippet>\n"
           "+<!channel> <@U123> <!here> <script>alert(1)</script>\n")


@pytest.fixture()
def web(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with StaticWebServer(root) as server:
        yield server


@pytest.fixture()
def slack(monkeypatch):
    with SlackEndpoint() as endpoint:
        monkeypatch.setenv("RUNINFODIFFER_WEBHOOK_URL", endpoint.webhook_url)
        yield endpoint


@pytest.fixture()
def site(web):
    return Site(web.root, web.url())


def make_bot(tmp_path, web, **overrides) -> DifferBot:
    values = dict(change_log_url=web.url("BotUrlLog.html"), proxy="", state=tmp_path / "state.json",
                  retries=1, slack_timeout=5.0)
    values.update(overrides)
    settings = BotSettings(**values)
    stop = threading.Event()
    return DifferBot(settings, make_notifiers(settings, stop), stop)


def posted_runs(slack: SlackEndpoint):
    """Run numbers of the delivered messages, in arrival order."""
    return [int(re.match(r"\*Run (\d+)\*", r.payload["text"]).group(1)) for r in slack.delivered()]


def saved_cursor(tmp_path, kind="webhook"):
    return json.loads((tmp_path / "state.json").read_text())["cursors"][kind]


def test_first_start_posts_nothing_old(tmp_path, web, slack, site):
    for number in (1, 2, 3):
        site.add(number)
    bot = make_bot(tmp_path, web)

    assert bot.run_cycle() is True
    assert slack.received == []
    assert saved_cursor(tmp_path) == 3

    site.add(4)
    assert bot.run_cycle() is True
    assert posted_runs(slack) == [run_of(4)]
    assert saved_cursor(tmp_path) == 4


def test_first_start_with_empty_log_posts_first_entry(tmp_path, web, slack, site):
    site.write([])
    bot = make_bot(tmp_path, web)
    assert bot.run_cycle() is True
    assert saved_cursor(tmp_path) == 0

    site.add(1)
    bot.run_cycle()
    assert posted_runs(slack) == [run_of(1)]


def test_replay_posts_newest_in_order(tmp_path, web, slack, site):
    for number in (1, 2, 3, 4):
        site.add(number)
    bot = make_bot(tmp_path, web)
    bot.run_cycle(replay=2)
    assert posted_runs(slack) == [run_of(3), run_of(4)]


def test_replay_ignored_when_state_exists(tmp_path, web, slack, site):
    for number in (1, 2, 3):
        site.add(number)
    make_bot(tmp_path, web).run_cycle()
    make_bot(tmp_path, web).run_cycle(replay=3)
    assert slack.received == []


def test_unchanged_log_costs_one_304(tmp_path, web, slack, site):
    site.add(1)
    bot = make_bot(tmp_path, web)
    bot.run_cycle(replay=1)
    bot.run_cycle()
    bot.run_cycle()
    assert web.statuses("/BotUrlLog.html") == [200, 304, 304]
    assert len([r for r in web.requests if r.path.startswith("/diff/")]) == 1
    assert bot.source.not_modified == 2


def test_json_log_url(tmp_path, web, slack, site):
    for number in (1, 2):
        site.add(number)
    bot = make_bot(tmp_path, web, change_log_url=web.url("BotUrlLog.json"))
    bot.run_cycle(replay=2)
    assert posted_runs(slack) == [run_of(1), run_of(2)]
    assert web.statuses("/BotUrlLog.json") == [200]


def test_capped_or_rewritten_log_never_reposts(tmp_path, web, slack, site):
    for number in range(1, 6):
        site.add(number)
    bot = make_bot(tmp_path, web)
    bot.run_cycle(replay=5)
    assert posted_runs(slack) == [run_of(n) for n in range(1, 6)]

    # The cap drops entries 1-3 off the front while 6 and 7 arrive.
    site.add(6, write=False)
    site.add(7, write=False)
    site.write(site.entries[3:])
    bot.run_cycle()
    assert posted_runs(slack) == [run_of(n) for n in range(1, 8)]

    # The log shrinks to one entry, then is rewritten out of order.
    site.write(site.entries[-1:])
    bot.run_cycle()
    site.write(list(reversed(site.entries)))
    bot.run_cycle()
    assert len(slack.delivered()) == 7

    site.add(8)
    bot.run_cycle()
    assert posted_runs(slack)[-1] == run_of(8)
    assert len(slack.delivered()) == 8


def test_entry_still_present_is_not_missed(tmp_path, web, slack, site):
    for number in range(1, 4):
        site.add(number)
    bot = make_bot(tmp_path, web)
    bot.run_cycle()
    # Entries 4 to 6 appear between two cycles, with 1-3 capped away.
    for number in (4, 5, 6):
        site.add(number, write=False)
    site.write(site.entries[3:])
    bot.run_cycle()
    assert posted_runs(slack) == [run_of(4), run_of(5), run_of(6)]


def test_message_escapes_mentions_and_xml(tmp_path, web, slack, site):
    site.add(1, partitions=("HCAL_HF", "HCAL_HO"), extra=HOSTILE)
    make_bot(tmp_path, web).run_cycle(replay=1)
    payload = slack.delivered()[0].payload
    text = payload["text"]

    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<@U123>" not in text
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;!here&gt;" in text
    assert "&lt;mastersnippet&gt;&lt;CfgScript Partition=\"HF;HO\"&gt;a &amp;amp; b" in text
    assert "&lt;script&gt;" in text
    # The bot's own link markup survives, with & escaped inside the URL.
    link = f"<{web.url('view')}?runnumber1={run_of(1) - 5}&amp;runnumber2={run_of(1)}&amp;partition=HCAL_HF|"
    assert link in text
    assert text.startswith(f"*Run {run_of(1)}*: 2 parameters changed in HCAL_HF, HCAL_HO\n")
    assert [block["type"] for block in payload["blocks"]] == ["section", "section", "section"]
    assert "\n\n".join(block["text"]["text"] for block in payload["blocks"]) == text


def test_long_diff_trimmed_with_count_and_link(tmp_path, web, slack, site):
    extra = "".join(f"+include(/uTCA/uHTR-GlobalRun-{number}.cfg:pro)\n" for number in range(2000))
    site.add(1, extra=extra)
    make_bot(tmp_path, web).run_cycle(replay=1)
    payload = slack.delivered()[0].payload
    text = payload["text"]

    total_lines = len(site.diffs[f"diff/{run_of(1) - 5}-{run_of(1)}-HCAL_HBHE.txt"].rstrip("\n").split("\n"))
    code = text.split("```\n", 1)[1].split("\n```", 1)[0]
    omitted = int(re.search(r"\.\.\. (\d+) more lines: <", text).group(1))
    assert len(code.split("\n")) + omitted == total_lines
    assert text.endswith(f"&amp;partition=HCAL_HBHE|full diff>")
    assert len(text) <= 3500
    assert all(len(block["text"]["text"]) <= SECTION_LIMIT for block in payload["blocks"])


def test_rate_limit_honours_retry_after(tmp_path, web, slack, site, caplog):
    site.add(1)
    slack.script = [("429", 1)]
    bot = make_bot(tmp_path, web)
    started = time.monotonic()
    assert bot.run_cycle(replay=1) is True

    assert [r.action for r in slack.received] == ["429", "ok"]
    assert slack.received[1].time - slack.received[0].time >= 1.0
    assert time.monotonic() - started >= 1.0
    assert saved_cursor(tmp_path) == 1
    assert re.search(rf"entry 1 \(run {run_of(1)}\) to webhook: attempt 1 failed with HTTP 429; "
                     r"retrying in 1\.\d s", caplog.text)


def test_long_retry_after_defers_entry(tmp_path, web, slack, site):
    site.add(1)
    slack.script = [("429", 30)]
    bot = make_bot(tmp_path, web, max_retry_after=2.0)
    assert bot.run_cycle(replay=1) is False
    assert saved_cursor(tmp_path) == 0

    # Within the Retry-After period the notifier does not post at all.
    assert bot.run_cycle() is False
    assert len(slack.received) == 1

    bot._paused_until.clear()
    assert bot.run_cycle() is True
    assert posted_runs(slack) == [run_of(1)]


def test_server_errors_retry_then_stay_pending(tmp_path, web, slack, site, caplog):
    site.add(1)
    site.add(2)
    slack.default = "500"
    bot = make_bot(tmp_path, web, retries=2)
    assert bot.run_cycle(replay=2) is False
    # One try plus two retries for entry 1; entry 2 waits behind it to keep the order.
    assert [r.action for r in slack.received] == ["500", "500", "500"]
    assert saved_cursor(tmp_path) == 0
    retries = re.findall(rf"entry 1 \(run {run_of(1)}\) to webhook: attempt (\d) failed with HTTP 500; "
                         r"retrying in \d+\.\d s", caplog.text)
    assert retries == ["1", "2"]
    assert slack.webhook_url not in caplog.text

    slack.default = "ok"
    assert bot.run_cycle() is True
    assert posted_runs(slack) == [run_of(1), run_of(2)]


def test_connection_error_retries_are_logged(tmp_path, web, site, monkeypatch, caplog):
    # Port 9 (discard) has no listener on loopback, so every connection is refused.
    url = "http://127.0.0.1:9/services/T000/B000/secretpart"
    monkeypatch.setenv("RUNINFODIFFER_WEBHOOK_URL", url)
    site.add(1)
    bot = make_bot(tmp_path, web, retries=2)
    assert bot.run_cycle(replay=1) is False
    retries = re.findall(rf"entry 1 \(run {run_of(1)}\) to webhook: attempt (\d) failed with "
                         r"connection error: .*[Rr]efused.*; retrying in \d+\.\d s", caplog.text)
    assert retries == ["1", "2"]
    assert "secretpart" not in caplog.text


def test_invalid_payload_skipped_after_max_rejections(tmp_path, web, slack, site, caplog):
    site.add(1)
    site.add(2)
    slack.script = ["invalid_payload", "invalid_payload"]
    bot = make_bot(tmp_path, web, max_rejections=2)

    assert bot.run_cycle(replay=2) is False
    assert saved_cursor(tmp_path) == 0
    assert "entry 1 (run 330005) rejected by webhook (HTTP 400 invalid_payload); try 1 of 2" in caplog.text

    assert bot.run_cycle() is True
    assert "entry 1 (run 330005) rejected by webhook 2 times (HTTP 400 invalid_payload); skipping it" in caplog.text
    assert posted_runs(slack) == [run_of(2)]
    assert saved_cursor(tmp_path) == 2


def test_revoked_webhook_skips_nothing(tmp_path, web, slack, site, monkeypatch):
    site.add(1)
    monkeypatch.setenv("RUNINFODIFFER_WEBHOOK_URL", slack.webhook_url + "-revoked")
    bot = make_bot(tmp_path, web, max_rejections=1)
    for _ in range(3):
        assert bot.run_cycle(replay=1) is False
    assert saved_cursor(tmp_path) == 0


def test_read_timeout_leaves_entry_pending(tmp_path, web, slack, site):
    site.add(1)
    slack.script = [("hang", 3)]
    bot = make_bot(tmp_path, web, slack_timeout=1.0)
    assert bot.run_cycle(replay=1) is False
    assert saved_cursor(tmp_path) == 0

    assert bot.run_cycle() is True
    assert posted_runs(slack) == [run_of(1)]


def test_unreachable_log_retries_next_cycle(tmp_path, web, slack, site, caplog):
    caplog.set_level(logging.INFO)
    site.add(1)
    bot = make_bot(tmp_path, web)
    bot.run_cycle()
    site.add(2)

    web.fail_status = 503
    assert bot.run_cycle() is False
    assert bot.run_cycle() is False
    assert f"change log {web.url('BotUrlLog.html')}: HTTP 503" in caplog.text
    assert caplog.text.count("HTTP 503") == 1  # repeats are counted, not logged

    web.fail_status = None
    assert bot.run_cycle() is True
    assert "change log readable again after 2 failed reads" in caplog.text
    assert posted_runs(slack) == [run_of(2)]


def test_dead_proxy_is_logged_not_fatal(tmp_path, web, slack, site, caplog):
    site.add(1)
    bot = make_bot(tmp_path, web, proxy="socks5h://127.0.0.1:9", connect_timeout=2.0)
    assert bot.run_cycle() is False
    assert "SOCKS proxy failed (is the ssh -D tunnel up?)" in caplog.text
    assert not (tmp_path / "state.json").exists()


def test_dead_http_proxy_is_named_by_scheme(tmp_path, web, slack, site, caplog):
    site.add(1)
    bot = make_bot(tmp_path, web, proxy="http://127.0.0.1:1", connect_timeout=2.0)
    assert bot.run_cycle() is False
    assert "HTTP proxy 127.0.0.1:1 failed (is it running?)" in caplog.text
    assert "SOCKS" not in caplog.text
    assert not (tmp_path / "state.json").exists()


def test_missing_diff_posts_without_it(tmp_path, web, slack, site):
    site.add(1)
    (web.root / f"diff/{run_of(1) - 5}-{run_of(1)}-HCAL_HBHE.txt").unlink()
    make_bot(tmp_path, web).run_cycle(replay=1)
    text = slack.delivered()[0].payload["text"]
    assert "diff not available (HTTP 404 Not Found): <" in text


def test_diff_server_error_leaves_entry_pending(tmp_path, web, slack, site):
    site.add(1)
    bot = make_bot(tmp_path, web)
    bot.run_cycle()
    site.add(2)
    web.fail_status, web.fail_prefix = 500, "/diff/"
    assert bot.run_cycle() is False
    assert slack.received == []
    assert web.statuses(f"/diff/{run_of(1)}-{run_of(2)}-HCAL_HBHE.txt") == [500]
    web.fail_status = None
    assert bot.run_cycle() is True
    assert posted_runs(slack) == [run_of(2)]


def test_mattermost_flavor_text_is_complete(tmp_path, web, slack, site):
    site.add(1, extra=HOSTILE)
    make_bot(tmp_path, web, flavor="mattermost").run_cycle(replay=1)
    payload = slack.delivered()[0].payload
    text = payload["text"]

    assert "blocks" not in payload
    assert text.startswith(f"**Run {run_of(1)}**: 1 parameter changed in HCAL_HBHE\n")
    assert f"]({web.url('view')}?runnumber1={run_of(1) - 5}&runnumber2={run_of(1)}&partition=HCAL_HBHE)" in text
    # Mattermost expands <!channel>, <!here>, <!all> and <@ID> anywhere in the text.
    assert "<!channel>" not in text
    assert "<@U123>" not in text
    assert "<!here>" not in text
    assert "<\u200b!channel> <\u200b@U123> <\u200b!here>" in text
    assert "+<mastersnippet><CfgScript Partition=\"HF;HO\">a &amp; b</CfgScript></mastersnippet>" in text
    assert f"-/hcalpro/Global/HCAL_Global_{run_of(1) - 5}" in text


def test_webapi_rejection_and_rate_limit(tmp_path, web, slack, site, monkeypatch, caplog):
    monkeypatch.setenv("RUNINFODIFFER_SLACK_TOKEN", "xoxb-test-token")
    site.add(1)
    site.add(2)
    slack.script = ["invalid_payload", ("429", 0)]
    bot = make_bot(tmp_path, web, notifiers=["webapi"], channel="#hcal-ops", api_url=slack.api_url,
                   max_rejections=1)

    assert bot.run_cycle(replay=2) is True
    assert [r.action for r in slack.received] == ["invalid_payload", "429", "ok"]
    assert "entry 1 (run 330005) rejected by webapi 1 times (HTTP 200 invalid_payload); skipping it" in caplog.text
    assert slack.delivered()[0].payload["text"].startswith(f"*Run {run_of(2)}*")
    assert saved_cursor(tmp_path, "webapi") == 2


def test_webapi_bad_token_skips_nothing(tmp_path, web, slack, site, monkeypatch):
    monkeypatch.setenv("RUNINFODIFFER_SLACK_TOKEN", "xoxb-revoked")
    site.add(1)
    slack.default = "invalid_auth"
    bot = make_bot(tmp_path, web, notifiers=["webapi"], channel="#hcal-ops", api_url=slack.api_url,
                   max_rejections=1)
    assert bot.run_cycle(replay=1) is False
    assert bot.run_cycle() is False
    assert saved_cursor(tmp_path, "webapi") == 0


def test_foreign_html_page_is_not_an_empty_log(tmp_path, web, slack, site, caplog):
    site.add(1)
    site.log_path.write_text("<html><body><h1>Maintenance</h1></body></html>")
    bot = make_bot(tmp_path, web)
    assert bot.run_cycle() is False
    assert "is not a RunInfoDiffer change log: no <ol class=\"changelog\"> element" in caplog.text
    assert not (tmp_path / "state.json").exists()

    site.write()
    assert bot.run_cycle() is True
    assert saved_cursor(tmp_path) == 1
