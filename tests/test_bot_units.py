"""Bot pieces without servers: message building and trimming, settings, secrets, the lock."""

from __future__ import annotations

import io
import logging

import pytest

from runinfodiffer.changelog import Comparison, Entry
from runinfodiffer.config import config_from_dict
from runinfodiffer.errors import ConfigError
from runinfodiffer.notify.bot import _start_cursor
from runinfodiffer.notify.logs import SecretFilter
from runinfodiffer.notify.message import (SECTION_LIMIT, MissingDiff, build_message, build_plain, escape_slack,
                                          slack_link)
from runinfodiffer.notify.settings import BotSettings, read_secret, settings_from_config
from runinfodiffer.notify.state import BotState, LockHeld, StateLock


def entry(comparisons=1, run=330020):
    items = [Comparison(run - 5 - index, run, [f"HCAL_P{index}"], 2 + index,
                        f"http://hcalmon.cms/view?runnumber1={run - 5 - index}&runnumber2={run}",
                        f"http://hcalmon.cms/view?runnumber1={run - 5 - index}&runnumber2={run}&format=text")
             for index in range(comparisons)]
    return Entry(7, "2026-12-04T20:00:00Z", run, "summary", items)


def test_escape_slack_specials():
    assert escape_slack("a & b <!channel> <@U123> x>y") == "a &amp; b &lt;!channel&gt; &lt;@U123&gt; x&gt;y"


def test_slack_link_escapes_url_and_label():
    link = slack_link("http://h/v?a=1&b=<2>|x", "run 1 | <2>")
    assert link == "<http://h/v?a=1&amp;b=%3C2%3E%7Cx|run 1 / &lt;2&gt;>"


def test_summary_counts_all_comparisons():
    message = build_message(entry(comparisons=3), ["x", "y", "z"])
    assert message.subject == "Run 330020: 9 parameters changed in HCAL_P0, HCAL_P1, HCAL_P2"
    assert message.text.startswith("*Run 330020*: 9 parameters changed in HCAL_P0, HCAL_P1, HCAL_P2\n")


@pytest.mark.parametrize("comparisons", [1, 2, 4])
@pytest.mark.parametrize("line", ["+short line", "+" + "<&>" * 400, "+" + "x" * 9000])
def test_message_within_limits(comparisons, line):
    diff = "\n".join([line] * 600)
    message = build_message(entry(comparisons), [diff] * comparisons, limit=3500)
    assert len(message.text) <= 3500
    for block in message.blocks:
        assert len(block["text"]["text"]) <= SECTION_LIMIT
    assert message.text.count("```") == 2 * comparisons
    assert message.omitted_lines > 0


def test_short_diff_is_whole():
    diff = "Run 330015 -> 330020: 1 parameter changed in HCAL_P0\n-a\n+b\n"
    message = build_message(entry(), [diff])
    assert message.omitted_lines == 0
    assert message.text.endswith("```\nRun 330015 -&gt; 330020: 1 parameter changed in HCAL_P0\n-a\n+b\n```")


def test_code_fence_in_value_cannot_close_block():
    message = build_message(entry(), ["+```\n+<!channel>"])
    assert message.text.count("```") == 2
    assert "&lt;!channel&gt;" in message.text


def test_missing_diff_shows_reason():
    message = build_message(entry(), [MissingDiff("HTTP 404 Not Found")])
    assert message.text.endswith("diff not available (HTTP 404 Not Found): "
                                 "<http://hcalmon.cms/view?runnumber1=330015&amp;runnumber2=330020|web view>")


def test_plain_message_is_unescaped():
    message = build_plain(entry(), ["+<a href='x'>&</a>"])
    assert "+<a href='x'>&</a>" in message.text
    assert "run 330015 -> 330020 (HCAL_P0): 2 changed" in message.text


def test_start_cursor_cases():
    entries = [entry(run=330000 + number) for number in range(3)]
    for number, item in enumerate(entries):
        item.id = 10 + number
    assert _start_cursor([], 5) == 0
    assert _start_cursor(entries, 0) == 12
    assert _start_cursor(entries, 1) == 11
    assert _start_cursor(entries, 3) == 9
    assert _start_cursor(entries, 50) == 9


def test_settings_from_bot_table(tmp_path):
    config = config_from_dict({"bot": {"change_log_url": "http://hcalmon.cms/RunInfoDiffer/BotUrlLog.json",
                                       "poll_interval": 5, "state": "var/bot.json", "notifiers": ["webhook"],
                                       "proxy": ""}}, source=tmp_path / "runinfodiffer.toml")
    settings = settings_from_config(config)
    assert settings.poll_interval == 5.0
    assert settings.state == tmp_path / "var" / "bot.json"
    assert settings.proxy == ""
    assert settings.lock_path == tmp_path / "var" / "bot.json.lock"


def test_settings_defaults():
    settings = BotSettings()
    assert settings.proxy == "socks5h://localhost:1080"
    assert settings.poll_interval == 10.0
    assert settings.notifiers == ["webhook"]
    assert settings.flavor == "slack"


@pytest.mark.parametrize("table, message", [
    ({"notifer": ["webhook"]}, "unknown \\[bot\\] key\\(s\\) notifer"),
    ({"notifiers": ["irc"]}, "unknown or missing kind\\(s\\) \\['irc'\\]"),
    ({"poll_interval": "10"}, "bot.poll_interval must be of type float"),
    ({"proxy": "localhost:1080"}, "bot.proxy must be a proxy URL"),
    ({"flavor": "teams"}, "bot.flavor must be one of slack, mattermost"),
    ({"notifiers": ["email"]}, "the email notifier needs bot.email_from and bot.email_to"),
    ({"notifiers": ["webapi"]}, "the webapi notifier needs bot.channel"),
])
def test_invalid_settings(tmp_path, table, message):
    config = config_from_dict({"bot": table}, source=tmp_path / "runinfodiffer.toml")
    with pytest.raises(ConfigError, match=message):
        settings_from_config(config)


def test_secret_from_environment_first(tmp_path, monkeypatch):
    path = tmp_path / "hook"
    path.write_text("https://hooks.slack.com/services/FILE\n")
    path.chmod(0o600)
    assert read_secret("TEST_HOOK", path, "webhook URL") == "https://hooks.slack.com/services/FILE"
    monkeypatch.setenv("TEST_HOOK", "https://hooks.slack.com/services/ENV")
    assert read_secret("TEST_HOOK", path, "webhook URL") == "https://hooks.slack.com/services/ENV"


def test_secret_filter_redacts_messages_and_tracebacks():
    secret = "https://hooks.slack.com/services/T1/B2/abcdef"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter([secret]))
    logger = logging.getLogger("test.secret.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("retrying POST %s", secret)
        try:
            raise RuntimeError(f"failed {secret}")
        except RuntimeError:
            logger.exception("post failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert secret not in output
    assert "retrying POST [secret]" in output
    assert "RuntimeError: failed [secret]" in output


def test_state_round_trip(tmp_path):
    state = BotState(tmp_path / "state.json").load()
    assert state.exists is False
    state.cursors["webhook"] = 3
    state.advance("webhook", 5)
    assert state.count_rejection("email", 6) == 1
    again = BotState(tmp_path / "state.json").load()
    assert again.cursors == {"webhook": 5}
    assert again.rejections == {"email:6": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_lock_names_holder(tmp_path):
    path = tmp_path / "state.json.lock"
    with StateLock(path):
        with pytest.raises(LockHeld, match=r"another DifferBot \(pid \d+\) is running on"):
            StateLock(path).acquire()
    with StateLock(path):
        pass
