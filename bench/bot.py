"""Bench section "bot": time from a run reaching Running to its message at the Slack endpoint.

The whole chain runs on 127.0.0.1 (tests/servers/bot_pipeline.py): the sample database
grown one run at a time, the poller, Apache serving the change log and the CGI text
diffs, an `ssh -D` tunnel, DifferBot and a Slack-compatible endpoint.

Two measurements:

- default intervals (poller 30 s, bot 10 s): SAMPLES runs with changes, each appended
  at a seeded random moment, so the figures include the real waiting. Target: every
  message within 45 s.
- short intervals (0.5 s each): the same chain with almost no waiting, over a burst of
  runs. Its maximum is an upper bound of the processing time, so 30 s + 10 s + that
  maximum bounds the worst case with the default intervals. Target: below 45 s.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from bench.run import Report, Table

SAMPLES = 3
BURST = 16
SEED = 2026
TARGET = 45.0
POLLER_INTERVAL = 30.0
BOT_INTERVAL = 10.0


def run(report: Report) -> None:
    """Run both measurements and add the table to `report`."""
    import shutil
    import sys

    from runinfodiffer.config import CHECKOUT

    sys.path.insert(0, str(CHECKOUT))
    table = Table("DifferBot latency: run reaches Running -> message at the Slack endpoint",
                  ["intervals (poller / bot)", "messages", "median", "max", "worst case", "target"])
    missing = [name for name in ("/usr/sbin/apache2", "/usr/sbin/sshd", "/usr/bin/python3")
               if not Path(name).exists()] + ([] if shutil.which("ssh") else ["ssh"])
    if missing:
        table.rows.append([f"skipped: {', '.join(missing)} not installed", "", "", "", "", ""])
        report.add(table)
        return

    short = _short_intervals()
    label = "0.5 s / 0.5 s"
    if short and all(seconds != float("inf") for seconds in short):
        worst_short = max(short)
        bound = POLLER_INTERVAL + BOT_INTERVAL + worst_short
        table.rows.append([label, str(len(short)), f"{statistics.median(short):.2f} s", f"{worst_short:.2f} s",
                           f"{bound:.1f} s (30 + 10 + max)", _verdict(bound)])
    else:
        table.rows.append([label, str(len(short)), "", "", "", "FAIL: a message did not arrive"])

    measured = _default_intervals()
    label = f"{POLLER_INTERVAL:g} s / {BOT_INTERVAL:g} s"
    if measured and all(seconds != float("inf") for seconds in measured):
        worst = max(measured)
        table.rows.append([label, str(len(measured)), f"{statistics.median(measured):.1f} s", f"{worst:.1f} s",
                           "measured", _verdict(worst)])
    else:
        table.rows.append([label, str(len(measured)), "", "", "", "FAIL: a message did not arrive"])
    table.notes.append(f"Short intervals: {BURST} runs appended 0.3 s apart. Default intervals: {SAMPLES} runs "
                       "with changes, each appended after a seeded random pause of 0-10 s. Times are measured "
                       "from the commit of the run's rows (Running included) to the endpoint receiving the post.")
    report.add(table)


def _verdict(seconds: float) -> str:
    return f"PASS (< {TARGET:g} s)" if seconds < TARGET else f"FAIL (>= {TARGET:g} s)"


def _short_intervals() -> List[float]:
    from tests.servers.bot_pipeline import Pipeline

    with tempfile.TemporaryDirectory() as scratch:
        with Pipeline(Path(scratch), poll_interval=0.5, bot_interval=0.5) as pipeline:
            pipeline.grow(BURST, pause=0.3)
            expected = pipeline.expected_runs(list(pipeline.visible_at))
            _wait_for_messages(pipeline, expected, timeout=60)
            return _latencies(pipeline, expected)


def _default_intervals() -> List[float]:
    from tests.servers.bot_pipeline import Pipeline

    rng = random.Random(SEED)
    latencies: List[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        with Pipeline(Path(scratch), poll_interval=POLLER_INTERVAL, bot_interval=BOT_INTERVAL) as pipeline:
            deadline = time.monotonic() + SAMPLES * 90
            while len(latencies) < SAMPLES and time.monotonic() < deadline:
                time.sleep(rng.uniform(0.0, 10.0))
                run = pipeline.grow(1)[0]
                if not pipeline.expected_runs([run]):
                    continue  # a local run, or a global run without changes: no message
                _wait_for_messages(pipeline, [run], timeout=TARGET + 30)
                latencies.extend(_latencies(pipeline, [run]))
    return latencies


def _received_at(pipeline, run: int) -> Optional[float]:
    for received in pipeline.slack.delivered():
        if received.payload.get("text", "").startswith(f"*Run {run}*"):
            return received.time
    return None


def _wait_for_messages(pipeline, runs: List[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_received_at(pipeline, run) is None for run in runs):
        time.sleep(0.1)


def _latencies(pipeline, runs: List[int]) -> List[float]:
    """Seconds from each run's commit to its message; a missing message counts as infinite."""
    result = []
    for run in runs:
        received = _received_at(pipeline, run)
        result.append(float("inf") if received is None else received - pipeline.visible_at[run])
    return result
