"""End to end: sample database, poller, Apache, SSH tunnel, DifferBot, Slack endpoint.

The database grows run by run while the poller (`runinfodiffer poll`) writes the change
log into the web root. The bot reads it through Apache and a real `ssh -D` tunnel. The
endpoint must receive exactly one message per change-log entry, in order, each with the
diff that the web interface renders for it.

Latency: the intervals here are 0.5 s, so the measured time from a run becoming
visible as Running to its message covers the processing (poller cycle, CGI diffs,
bot cycle, post) plus up to 1 s of waiting. With the default intervals (poller 30 s,
bot 10 s) the worst case is 30 + 10 s of waiting plus the same processing, so the
test checks 40 s + the measured maximum < 45 s.
"""

from __future__ import annotations

import html
import json
import re
import time
import urllib.request

import pytest

from runinfodiffer.sample import manifest_path
from tests.conftest import require_binary
from tests.servers.apache import APACHE, SYSTEM_PYTHON
from tests.servers.bot_pipeline import Pipeline

pytestmark = pytest.mark.e2e

POLLER_DEFAULT = 30.0
BOT_DEFAULT = 10.0
LATENCY_TARGET = 45.0


def code_block(text: str) -> str:
    """Return the first code block of a Slack message, unescaped."""
    inner = text.split("```\n", 1)[1].split("\n```", 1)[0]
    return html.unescape(inner.replace("\u200b", ""))


def test_pipeline_one_message_per_entry(tmp_path):
    require_binary(APACHE)
    require_binary(SYSTEM_PYTHON)
    sshd = require_binary("/usr/sbin/sshd")
    ssh = require_binary("ssh")

    with Pipeline(tmp_path, poll_interval=0.5, bot_interval=0.5, sshd=sshd, ssh=ssh) as pipeline:
        pipeline.grow(8, pause=0.2)
        time.sleep(1.0)
        pipeline.grow(8, pause=0.4)

        # Wait until every entry has its message and nothing changes for 3 s, so a
        # repeated or extra message would be seen.
        deadline = time.monotonic() + 60
        last, stable_since = None, time.monotonic()
        while time.monotonic() < deadline:
            counts = (len(pipeline.entries()), len(pipeline.slack.delivered()))
            if counts != last:
                last, stable_since = counts, time.monotonic()
            elif counts[0] and counts[1] >= counts[0] and time.monotonic() - stable_since >= 3:
                break
            time.sleep(0.2)

        entries = pipeline.entries()
        delivered = pipeline.slack.delivered()
        texts = {}
        for entry in entries:
            texts[entry.id] = [urllib.request.urlopen(c.text_url, timeout=30).read().decode("utf-8")
                               for c in entry.comparisons]
        access_log = pipeline.apache.access_log.read_text()
        manifest = json.loads(manifest_path(pipeline.database).read_text())
        visible_at = dict(pipeline.visible_at)
        expected_runs = pipeline.expected_runs(sorted(visible_at))

    assert [e.run for e in entries] == expected_runs
    assert len(entries) >= 5, "the grown runs produced too few change-log entries"
    assert [e.id for e in entries] == list(range(1, len(entries) + 1))
    runs = [int(re.match(r"\*Run (\d+)\*", r.payload["text"]).group(1)) for r in delivered]
    assert runs == [e.run for e in entries], "not exactly one message per entry, in order"

    for entry, received in zip(entries, delivered):
        text = received.payload["text"]
        count = sum(c.changed for c in entry.comparisons)
        noun = "parameter" if count == 1 else "parameters"
        assert text.startswith(f"*Run {entry.run}*: {count} {noun} changed in {', '.join(entry.partitions)}\n")
        for comparison in entry.comparisons:
            assert f"<{comparison.url.replace('&', '&amp;')}|run {comparison.run1} \u2192 {comparison.run2}" in text
        message_diff = code_block(text)
        assert texts[entry.id][0].startswith(message_diff), f"entry {entry.id}: not the CGI text diff"
        assert message_diff.startswith(f"Run {entry.comparisons[0].run1} -> {entry.run}: ")

    pairs = {pair["run2"]: pair for pair in manifest["pairs"]}
    checked = 0
    for entry in entries:
        assert entry.run in pairs, f"run {entry.run} is not a changed pair of the sample manifest"
        expected = pairs[entry.run]["changes"]
        if len(entry.comparisons) == 1 and entry.comparisons[0].run1 == pairs[entry.run]["run1"]:
            assert entry.comparisons[0].changed == len(expected), f"run {entry.run}: {sorted(expected)}"
            for parameter in expected:
                assert parameter in texts[entry.id][0], f"run {entry.run}: {parameter} missing from the diff"
            checked += 1
    assert checked >= 3, "too few entries could be checked against the manifest"

    assert re.search(r'"GET /RunInfoDiffer/BotUrlLog.html HTTP/1.1" 304 ', access_log), \
        "Apache never answered the bot's conditional GET with 304"

    latencies = [received.time - visible_at[entry.run] for entry, received in zip(entries, delivered)]
    worst = max(latencies)
    bound = POLLER_DEFAULT + BOT_DEFAULT + worst
    print(f"latency with 0.5 s intervals: max {worst:.2f} s, median {sorted(latencies)[len(latencies) // 2]:.2f} s "
          f"over {len(latencies)} entries; bound with default intervals {bound:.1f} s")
    assert bound < LATENCY_TARGET
