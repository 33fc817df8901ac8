"""The live demo, end to end on loopback: a replayed run travels to the Slack sink."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from runinfodiffer.changelog import read_entries
from runinfodiffer.config import CHECKOUT


def test_demo_change_reaches_slack(tmp_path):
    command = [sys.executable, "-m", "runinfodiffer.demo", "--folder", str(tmp_path), "--port", "0",
               "--runs", "8", "--every", "1", "--poll-interval", "0.5", "--bot-interval", "0.5", "--grace", "6"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=CHECKOUT, stdin=subprocess.DEVNULL,
                            timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "$ python cgi-bin/Run_Info_Diff.py remote_run 330019 330025" in result.stdout
    assert "Run 330019 -> 330025: 5 parameters changed" in result.stdout

    entries = read_entries(tmp_path / "BotUrlLog.html")
    messages = re.findall(r"---- Slack message (\d+) ", result.stdout)
    assert entries
    assert len(messages) == len(entries)
    for entry in entries:
        assert f"*Run {entry.run}*" in result.stdout
    assert "replay: appended run" in result.stdout
    assert "Open http://127.0.0.1:" in result.stdout
    for name in ("web", "poller", "bot"):
        assert (tmp_path / f"demo-{name}.log").is_file()


def test_demo_no_live_prints_diff(tmp_path):
    command = [sys.executable, "-m", "runinfodiffer.demo", "--folder", str(tmp_path), "--no-live"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=CHECKOUT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "== HCAL_ICICONTROL_MULTI [HCAL_HBHE]" in result.stdout
    assert not (tmp_path / "BotUrlLog.html").exists()


def test_second_demo_on_same_folder_rejected(tmp_path):
    from runinfodiffer.files import PidLock

    with PidLock(tmp_path / "demo.lock", lambda pid: f"held by {pid}"):
        command = [sys.executable, "-m", "runinfodiffer.demo", "--folder", str(tmp_path), "--no-live"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=CHECKOUT, timeout=60)
    assert result.returncode == 2
    assert "another demo" in result.stderr
    assert f"(pid {os.getpid()})" in result.stderr
    assert not (tmp_path / "sample.sqlite").exists()
