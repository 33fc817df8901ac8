"""DifferBot as a process: lock, signals, secrets in logs, exit statuses, other notifiers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.servers.bot_site import Site, bot_env, run_bot, run_of, start_bot, write_bot_config
from tests.servers.slack_endpoint import SlackEndpoint
from tests.servers.smtp_sink import SmtpSink
from tests.servers.static_web import StaticWebServer


@pytest.fixture()
def web(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with StaticWebServer(root) as server:
        yield server


@pytest.fixture()
def slack():
    with SlackEndpoint() as endpoint:
        yield endpoint


@pytest.fixture()
def site(web):
    return Site(web.root, web.url())


def config_for(tmp_path, web, **bot):
    values = dict(change_log_url=web.url("BotUrlLog.html"), proxy="", state=str(tmp_path / "state.json"),
                  retries=0, poll_interval=0.2)
    values.update(bot)
    return write_bot_config(tmp_path, **values)


def wait_until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_second_bot_exits_2_naming_pid(tmp_path, web, slack, site):
    site.add(1)
    config = config_for(tmp_path, web)
    first = start_bot(config, env=bot_env(slack.webhook_url))
    try:
        assert wait_until(lambda: (tmp_path / "state.json").exists())
        second = run_bot(config, "--once", "--replay", "1", env=bot_env(slack.webhook_url))
    finally:
        first.terminate()
        first.wait(10)

    assert second.returncode == 2
    assert f"another DifferBot (pid {first.pid}) is running on {tmp_path / 'state.json.lock'}" in second.stderr
    assert slack.received == []


def test_sigterm_finishes_current_post(tmp_path, web, slack, site):
    site.add(1)
    slack.script = [("slow", 1.5)]
    config = config_for(tmp_path, web)
    log = tmp_path / "BotLog.txt"
    bot = start_bot(config, "--replay", "1", env=bot_env(slack.webhook_url), log=log)
    try:
        assert slack.wait_for(1, timeout=15)
        bot.send_signal(signal.SIGTERM)
        status = bot.wait(15)
    finally:
        if bot.poll() is None:
            bot.kill()

    assert status == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["cursors"] == {"webhook": 1}
    text = log.read_text()
    assert "received SIGTERM: finishing the current post" in text
    assert "posted entry 1 (run 330005) to webhook" in text
    assert "DifferBot stopping" in text


def test_sigterm_cuts_retry_after_wait(tmp_path, web, slack, site):
    site.add(1)
    slack.script = [("429", 20)]
    bot = start_bot(config_for(tmp_path, web, max_retry_after=30.0), "--replay", "1",
                    env=bot_env(slack.webhook_url), log=tmp_path / "BotLog.txt")
    try:
        assert wait_until(lambda: len(slack.received) == 1)
        time.sleep(0.3)
        started = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        status = bot.wait(15)
    finally:
        if bot.poll() is None:
            bot.kill()

    assert status == 0
    assert time.monotonic() - started < 5, "the bot waited out Retry-After instead of stopping"
    assert len(slack.received) == 1
    assert json.loads((tmp_path / "state.json").read_text())["cursors"] == {"webhook": 0}
    assert "entry 1 (run 330005) stays pending for webhook: rate limited (HTTP 429)" in (
        tmp_path / "BotLog.txt").read_text()


def test_sigint_while_idle_exits_0(tmp_path, web, slack, site):
    site.add(1)
    bot = start_bot(config_for(tmp_path, web, poll_interval=30.0), env=bot_env(slack.webhook_url))
    assert wait_until(lambda: (tmp_path / "state.json").exists())
    bot.send_signal(signal.SIGINT)
    assert bot.wait(10) == 0


def test_secrets_never_logged(tmp_path, web, slack, site):
    site.add(1)
    site.add(2)
    # A 500 and a 429 make slack_sdk log its retries; --debug logs everything else.
    slack.script = ["500", ("429", 0), "invalid_payload"]
    config = config_for(tmp_path, web, retries=2)
    result = run_bot(config, "--once", "--replay", "2", "--debug", env=bot_env(slack.webhook_url))
    unreachable = run_bot(config_for(tmp_path, web, retries=1), "--once", "--debug",
                          env=bot_env(f"http://127.0.0.1:9/hooks/{slack.secret}"))

    assert slack.secret not in result.stderr + result.stdout
    assert slack.secret not in unreachable.stderr + unreachable.stdout
    assert "entry 1 (run 330005) rejected by webhook (HTTP 400 invalid_payload)" in result.stderr
    assert "stays pending for webhook: connection failed" in unreachable.stderr


def test_missing_webhook_names_both_sources(tmp_path, web, site):
    site.add(1)
    secret_file = tmp_path / "webhook-url"
    config = config_for(tmp_path, web, webhook_url_file=str(secret_file))
    result = run_bot(config, "--once")
    assert result.returncode == 2
    assert (f"DifferBot: error: no webhook URL: $RUNINFODIFFER_WEBHOOK_URL is unset and {secret_file} "
            f"does not exist; write the webhook URL to {secret_file} and run chmod 600 {secret_file}"
            in result.stderr)
    assert "Traceback" not in result.stderr


def test_webhook_file_must_be_private(tmp_path, web, slack, site):
    site.add(1)
    secret_file = tmp_path / "webhook-url"
    secret_file.write_text(slack.webhook_url + "\n")
    secret_file.chmod(0o644)
    config = config_for(tmp_path, web, webhook_url_file=str(secret_file))

    result = run_bot(config, "--once", "--replay", "1")
    assert result.returncode == 2
    assert f"is readable by group or others: run chmod 600 {secret_file}" in result.stderr

    secret_file.chmod(0o600)
    result = run_bot(config, "--once", "--replay", "1")
    assert result.returncode == 0
    assert len(slack.delivered()) == 1


def test_once_exit_status_reports_pending(tmp_path, web, slack, site):
    site.add(1)
    slack.default = "500"
    config = config_for(tmp_path, web)
    assert run_bot(config, "--once", "--replay", "1", env=bot_env(slack.webhook_url)).returncode == 1
    slack.default = "ok"
    assert run_bot(config, "--once", env=bot_env(slack.webhook_url)).returncode == 0


def test_invalid_state_file_is_reported(tmp_path, web, slack, site):
    site.add(1)
    (tmp_path / "state.json").write_text("{not json")
    result = run_bot(config_for(tmp_path, web), "--once", env=bot_env(slack.webhook_url))
    assert result.returncode == 2
    assert f"state file {tmp_path / 'state.json'} is invalid" in result.stderr


def test_webapi_posts_to_channel_with_token(tmp_path, web, slack, site):
    site.add(1)
    config = config_for(tmp_path, web, notifiers=["webapi"], channel="#hcal-ops", api_url=slack.api_url)
    env = bot_env(RUNINFODIFFER_SLACK_TOKEN="xoxb-test-token")
    result = run_bot(config, "--once", "--replay", "1", "--debug", env=env)

    assert result.returncode == 0, result.stderr
    received = slack.delivered()
    assert [r.path for r in received] == ["/api/chat.postMessage"]
    assert received[0].headers["Authorization"] == "Bearer xoxb-test-token"
    assert received[0].payload["channel"] == "#hcal-ops"
    assert received[0].payload["text"].startswith(f"*Run {run_of(1)}*: 1 parameter changed in HCAL_HBHE")
    assert len(received[0].payload["blocks"]) == 2
    assert "xoxb-test-token" not in result.stderr


def test_email_alongside_webhook(tmp_path, web, slack, site):
    site.add(1, extra="+<mastersnippet>a & b</mastersnippet>\n")
    with SmtpSink() as smtp:
        config = config_for(tmp_path, web, notifiers=["webhook", "email"], smtp_host="127.0.0.1",
                            smtp_port=smtp.port, email_from="differbot@cms.test",
                            email_to=["hcal-ops@cms.test", "oncall@cms.test"], subject_prefix="[HCAL]")
        result = run_bot(config, "--once", "--replay", "1", env=bot_env(slack.webhook_url))
        assert result.returncode == 0, result.stderr

        assert len(slack.delivered()) == 1
        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
        assert mail["Subject"] == f"[HCAL] Run {run_of(1)}: 1 parameter changed in HCAL_HBHE"
        assert smtp.envelopes[0] == ["hcal-ops@cms.test", "oncall@cms.test"]
        body = mail.get_content()
        assert "+<mastersnippet>a & b</mastersnippet>" in body
        assert f"run {run_of(1) - 5} -> {run_of(1)} (HCAL_HBHE): 1 changed" in body

    state = json.loads((tmp_path / "state.json").read_text())
    assert state["cursors"] == {"webhook": 1, "email": 1}


def test_email_server_down_keeps_entry_for_email_only(tmp_path, web, slack, site):
    site.add(1)
    config = config_for(tmp_path, web, notifiers=["webhook", "email"], smtp_host="127.0.0.1", smtp_port=9,
                        email_from="differbot@cms.test", email_to=["hcal-ops@cms.test"])
    result = run_bot(config, "--once", "--replay", "1", env=bot_env(slack.webhook_url))
    assert result.returncode == 1
    assert "entry 1 (run 330005) stays pending for email: SMTP 127.0.0.1:9" in result.stderr
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["cursors"] == {"webhook": 1, "email": 0}


def test_entry_script_is_thin():
    script = os.path.join(os.path.dirname(__file__), "..", "bot", "DifferBot.py")
    with open(script, encoding="utf-8") as stream:
        assert len(stream.read().splitlines()) < 40
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "--replay N" in result.stdout
