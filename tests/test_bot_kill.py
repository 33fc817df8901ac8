"""SIGKILL the bot at seeded random points: no entry is missed, and an entry is posted twice
only when the kill fell between its post reaching the endpoint and the bot saving its id."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter

from tests.servers.bot_site import FIRST_RUN, Site, bot_env, run_bot, start_bot, write_bot_config
from tests.servers.slack_endpoint import SlackEndpoint
from tests.servers.static_web import StaticWebServer

ENTRIES = 40
KILLS = 24
SEED = 20261204


def entry_ids(slack: SlackEndpoint):
    """Entry ids of every payload the endpoint received, in arrival order."""
    ids = []
    for received in slack.received:
        run = int(received.payload["text"].split("*")[1].split()[1])
        ids.append((run - FIRST_RUN) // 5)
    return ids


def saved_cursor(path):
    try:
        return json.loads(path.read_text())["cursors"]["webhook"]
    except FileNotFoundError:
        return None


def test_sigkill_at_random_points(tmp_path):
    rng = random.Random(SEED)
    root = tmp_path / "site"
    root.mkdir()
    state = tmp_path / "state.json"
    # The endpoint records a payload 20 ms before it responds. That widens the window
    # between a post and the save of its id, so some kills land there.
    with StaticWebServer(root) as web, SlackEndpoint() as slack:
        slack.default = ("slow", 0.02)
        site = Site(root, web.url())
        for number in range(1, ENTRIES + 1):
            site.add(number, write=False)
        site.write()
        config = write_bot_config(tmp_path, change_log_url=web.url("BotUrlLog.html"), proxy="",
                                  state=str(state), poll_interval=0.05, retries=0)
        env = bot_env(slack.webhook_url)

        repeats_expected = []
        kills = 0
        while kills < KILLS:
            before = len(slack.received)
            bot = start_bot(config, "--replay", str(ENTRIES), env=env)
            target = before + rng.randint(0, 2)
            deadline = time.monotonic() + 15
            while len(slack.received) < target and time.monotonic() < deadline and bot.poll() is None:
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.03))
            os.kill(bot.pid, signal.SIGKILL)
            bot.wait(10)
            kills += 1
            # A request already sent when the kill came is still recorded by the endpoint.
            time.sleep(0.1)

            received = entry_ids(slack)
            cursor = saved_cursor(state)
            if len(received) > before and (cursor is None or received[-1] > cursor):
                # Posted (the endpoint has it) but not saved: the restart repeats it.
                assert cursor is None or received[-1] == cursor + 1
                repeats_expected.append(received[-1])

        finish = run_bot(config, "--once", env=env)
        assert finish.returncode == 0, finish.stderr

    ids = entry_ids(slack)
    counts = Counter(ids)
    # Each kill in the window adds exactly one repeat of that entry, no more.
    repeats = Counter({entry: count - 1 for entry, count in counts.items() if count > 1})
    repeated = sorted(repeats)

    assert kills >= 20
    assert sorted(counts) == list(range(1, ENTRIES + 1)), "an entry was missed"
    assert repeats == Counter(repeats_expected)
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == list(range(1, ENTRIES + 1)), "entries were posted out of order"
    assert saved_cursor(state) == ENTRIES
    print(f"{kills} kills, {len(repeats_expected)} fell between a post and its save; "
          f"repeated entries {repeated}")
