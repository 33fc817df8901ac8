"""DifferBot through a real `ssh -N -D` SOCKS tunnel to a throw-away sshd on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import require_binary
from tests.servers.bot_site import Site, bot_env, run_bot, run_of, start_bot, write_bot_config
from tests.servers.slack_endpoint import SlackEndpoint
from tests.servers.ssh_tunnel import SshTunnel
from tests.servers.static_web import StaticWebServer

pytestmark = pytest.mark.e2e


@pytest.fixture()
def tunnel(tmp_path):
    sshd = require_binary("/usr/sbin/sshd")
    ssh = require_binary("ssh")
    require_binary("ssh-keygen")
    with SshTunnel(tmp_path / "ssh", sshd=sshd, ssh=ssh) as started:
        yield started


@pytest.fixture()
def web(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with StaticWebServer(root, track_owners=True) as server:
        yield server


@pytest.fixture()
def slack():
    with SlackEndpoint(track_owners=True) as endpoint:
        yield endpoint


def test_log_via_tunnel_slack_direct(tmp_path, tunnel, web, slack):
    # "localhost" in the URLs is resolved by sshd, as cmsusr resolves hcalmon.cms.
    site = Site(web.root, f"http://localhost:{web.port}")
    site.add(1)
    site.add(2, partitions=("HCAL_HF", "HCAL_HO"))
    config = write_bot_config(tmp_path, change_log_url=f"http://localhost:{web.port}/BotUrlLog.html",
                              proxy=tunnel.proxy_url, state=str(tmp_path / "state.json"), poll_interval=0.2)
    bot = start_bot(config, "--replay", "2", env=bot_env(slack.webhook_url), log=tmp_path / "BotLog.txt")
    try:
        delivered = slack.wait_for(2, timeout=20)
        relays = set(tunnel.sshd_pids())
    finally:
        bot.terminate()
        bot.wait(10)

    assert [r.payload["text"].split("*")[1] for r in delivered] == [f"Run {run_of(1)}", f"Run {run_of(2)}"]
    assert web.requests, "the web server saw no request"
    for request in web.requests:
        assert request.client_pid in relays, f"{request.path} did not come through sshd"
        assert request.client_pid != bot.pid
    for received in slack.received:
        assert received.client_pid == bot.pid, "the Slack post went through the SOCKS proxy"


def test_tunnel_down_then_back(tmp_path, tunnel, web, slack):
    site = Site(web.root, web.url())
    site.add(1)
    config = write_bot_config(tmp_path, change_log_url=web.url("BotUrlLog.html"), proxy=tunnel.proxy_url,
                              state=str(tmp_path / "state.json"), poll_interval=0.2, connect_timeout=2)
    log = tmp_path / "BotLog.txt"
    bot = start_bot(config, env=bot_env(slack.webhook_url), log=log)
    try:
        deadline = time.monotonic() + 15
        while not (tmp_path / "state.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        tunnel.stop_tunnel()
        site.add(2)
        deadline = time.monotonic() + 15
        while "SOCKS proxy failed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bot.poll() is None, "the bot exited while the tunnel was down"
        assert slack.received == []

        tunnel.start_tunnel()
        delivered = slack.wait_for(1, timeout=20)
        time.sleep(0.5)
    finally:
        bot.terminate()
        bot.wait(10)

    text = log.read_text()
    assert "SOCKS proxy failed (is the ssh -D tunnel up?)" in text
    assert "change log readable again after" in text
    assert len(delivered) == 1
    assert delivered[0].payload["text"].startswith(f"*Run {run_of(2)}*")
    assert json.loads((tmp_path / "state.json").read_text())["cursors"] == {"webhook": 2}


def test_once_through_tunnel(tmp_path, tunnel, web, slack):
    site = Site(web.root, web.url())
    site.add(1)
    config = write_bot_config(tmp_path, change_log_url=web.url("BotUrlLog.json"), proxy=tunnel.proxy_url,
                              state=str(tmp_path / "state.json"))
    result = run_bot(config, "--once", "--replay", "1", env=bot_env(slack.webhook_url))
    assert result.returncode == 0, result.stderr
    assert len(slack.delivered()) == 1
