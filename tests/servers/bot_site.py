"""Test material for the bot: a change log with text diffs in a folder, and a bot process.

The folder is what the web interface serves: `BotUrlLog.html` and `BotUrlLog.json`
written by `runinfodiffer.changelog`, and one text diff per comparison under `diff/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from runinfodiffer.changelog import Comparison, Entry, write_entries

CHECKOUT = Path(__file__).resolve().parents[2]
BOT_SCRIPT = CHECKOUT / "bot" / "DifferBot.py"
FIRST_RUN = 330000


def run_of(entry_id: int) -> int:
    """Run number of entry `entry_id` in the generated logs (5 runs apart)."""
    return FIRST_RUN + 5 * entry_id


def diff_text(run1: int, run2: int, partition: str, extra: str = "") -> str:
    """Return a text diff shaped like `runinfodiffer diff` output."""
    return (
        f"Run {run1} -> {run2}: 1 parameter changed in {partition}\n\n"
        f"== CMS.{partition}:FM_FULLPATH [{partition}]\n"
        f"--- run {run1}\n+++ run {run2}\n@@ -1 +1 @@\n"
        f"-/hcalpro/Global/HCAL_Global_{run1}\n+/hcalpro/Global/HCAL_Global_{run2}\n{extra}"
    )


class Site:
    """Entries and diffs in `root`, with links that point at `base_url` (the web server)."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.entries: List[Entry] = []
        self.diffs: Dict[str, str] = {}

    @property
    def log_path(self) -> Path:
        return self.root / "BotUrlLog.html"

    def add(self, entry_id: int, partitions: Sequence[str] = ("HCAL_HBHE",), extra: str = "",
            write: bool = True) -> Entry:
        """Add an entry with one comparison per partition group and write the files."""
        run = run_of(entry_id)
        comparisons = []
        for index, partition in enumerate(partitions):
            run1 = run - 5 - index
            name = f"diff/{run1}-{run}-{partition}.txt"
            self.diffs[name] = diff_text(run1, run, partition, extra)
            comparisons.append(Comparison(
                run1, run, [partition], 1,
                f"{self.base_url}/view?runnumber1={run1}&runnumber2={run}&partition={partition}",
                f"{self.base_url}/{name}",
            ))
        entry = Entry(entry_id, "2026-12-04T20:00:00Z", run, f"Run {run} changed", comparisons)
        self.entries.append(entry)
        if write:
            self.write()
        return entry

    def write(self, entries: Optional[List[Entry]] = None) -> None:
        for name, text in self.diffs.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text(text, encoding="utf-8")
        write_entries(self.log_path, self.entries if entries is None else entries)


def write_bot_config(folder: Path, **bot: object) -> Path:
    """Write a runinfodiffer.toml with a [bot] table; return its path."""
    lines = ["[bot]"]
    for key, value in bot.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, (list, tuple)):
            lines.append(f"{key} = [{', '.join(repr(item) for item in value)}]".replace("'", '"'))
        else:
            lines.append(f"{key} = {value}")
    path = folder / "runinfodiffer.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bot_env(webhook_url: Optional[str] = None, **extra: str) -> Dict[str, str]:
    """Environment for a bot process: no proxy variables, the webhook URL when given."""
    env = {key: value for key, value in os.environ.items()
           if key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
           and not key.startswith("RUNINFODIFFER_")}
    env["PYTHONPATH"] = str(CHECKOUT)
    if webhook_url:
        env["RUNINFODIFFER_WEBHOOK_URL"] = webhook_url
    env.update(extra)
    return env


def run_bot(config: Path, *args: str, env: Optional[Dict[str, str]] = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `bot/DifferBot.py --config CONFIG ARGS...` to completion and capture its output."""
    return subprocess.run([sys.executable, str(BOT_SCRIPT), "--config", str(config), *args],
                          env=env or bot_env(), capture_output=True, text=True, timeout=timeout)


def start_bot(config: Path, *args: str, env: Optional[Dict[str, str]] = None,
              log: Optional[Path] = None) -> subprocess.Popen:
    """Start the bot in the background; its log goes to `log` (or is discarded)."""
    output = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, str(BOT_SCRIPT), "--config", str(config), *args],
                            env=env or bot_env(), stdout=output, stderr=output)
