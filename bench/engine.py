"""Bench section "engine": `diff_text` against `git diff --no-index` and difflib.

Three inputs are measured:

* the largest pair: the sample database's largest changed value (manifest key
  "largest_pair") when `runinfodiffer.sample` exists, else a seeded synthetic
  brace-delimited configuration of 20,000 lines with about 300 changed lines;
* the worst case: 50,000 lines, every one of them changed;
* a synthetic nested XML document of about 20,000 lines, without a target, to show the
  cost of the XML block context scan.

Engine time is the best of several calls in this process after one warm-up call, so
pygit2 is already imported. The pygit2 import has its own row, and so has one call in
a fresh process. `git diff --no-index` runs as a subprocess on two temporary
files, process start included. difflib is `difflib.unified_diff` with its defaults
(autojunk on), run in a subprocess that is stopped after DIFFLIB_TIMEOUT seconds.

Targets: engine time at most 2x git on the largest pair and at most 5x git on the
worst case, both with the default budget of 2000 changed lines.
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from bench.run import Report, Table

REPO = Path(__file__).resolve().parents[1]
REPEAT = 15
DIFFLIB_TIMEOUT = 60.0
LARGEST_PAIR_TARGET = 2.0
WORST_CASE_TARGET = 5.0

Pair = Tuple[str, str, str]



def verdict(ratio: float, target: Optional[float]) -> str:
    """Return PASS or FAIL against `target`, or "-" for a row without one."""
    if target is None:
        return "-"
    return "PASS" if ratio <= target else "FAIL"

def run(report: Report) -> None:
    """Measure the three inputs and add the timing table and the import cost table to `report`."""
    from runinfodiffer.engine import diff_text, split_lines

    if shutil.which("git") is None:
        table = Table("Engine time against git diff --no-index", ["check", "result"])
        table.rows.append(["git executable on PATH", "FAIL: not found, install git to run this section"])
        report.add(table)
        return

    largest = sample_pair() or synthetic_pair()
    cases = [(largest, LARGEST_PAIR_TARGET), (worst_case_pair(), WORST_CASE_TARGET), (xml_pair(), None)]
    table = Table(
        "Engine time against git diff --no-index and difflib",
        ["input", "lines old/new", "changed", "engine", "engine, budget=None", "git diff", "difflib",
         "engine/git", "target", "result"],
    )
    for (label, old, new), target in cases:
        diff_text(old, new)
        with tempfile.TemporaryDirectory() as directory:
            git_command = git_diff_command(*write_pair(Path(directory), old, new))
            best = interleaved_best({
                "engine": lambda: diff_text(old, new),
                "complete": lambda: diff_text(old, new, budget=None),
                "git": lambda: subprocess.run(git_command, stdout=subprocess.DEVNULL, check=False),
            })
        difflib_seconds = difflib_unified_seconds(old, new)
        diff = diff_text(old, new, budget=None)
        ratio = best["engine"] / best["git"]
        table.rows.append([
            label,
            f"{len(split_lines(old))}/{len(split_lines(new))}",
            f"-{diff.removed} +{diff.added}",
            milliseconds(best["engine"]),
            milliseconds(best["complete"]),
            milliseconds(best["git"]),
            milliseconds(difflib_seconds) if difflib_seconds is not None else f"> {DIFFLIB_TIMEOUT:.0f} s, stopped",
            f"{ratio:.2f}x",
            f"<= {target:.0f}x" if target is not None else "none",
            verdict(ratio, target),
        ])
    table.notes.append(
        f"engine: best of {REPEAT} calls of diff_text (context 3, budget 2000 unless stated) "
        "in one process, pygit2 already imported. git diff: best of "
        f"{REPEAT} runs of `git diff --no-index` on temporary files, process start included. "
        "The engine and git runs alternate, so load from other processes hits both alike. "
        "difflib: one run of difflib.unified_diff (autojunk on). The XML row has no target: "
        "it shows the cost of the XML block context scan."
    )
    report.add(table)
    report.add(import_table(largest))


def import_table(largest: Pair) -> Table:
    """Return the import cost of the engine and of pygit2, and one call in a fresh process."""
    from runinfodiffer.engine import LIBGIT2_MIN_LINES

    table = Table("Import cost (each CGI request is a new process)", ["what", "time"])
    table.rows.append(["import runinfodiffer.engine (-X importtime, cumulative)",
                       f"{import_microseconds('runinfodiffer.engine') / 1000:.1f} ms"])
    table.rows.append(["import runinfodiffer.model alone (dataclasses; every module needs it)",
                       f"{import_microseconds('runinfodiffer.model') / 1000:.1f} ms"])
    table.rows.append([f"import pygit2 (-X importtime, cumulative), paid once above {LIBGIT2_MIN_LINES} lines",
                       f"{import_microseconds('pygit2') / 1000:.1f} ms"])
    table.rows.append([f"fresh process: import engine + diff_text on {largest[0]}",
                       milliseconds(fresh_process_seconds(largest[1], largest[2]))])
    table.notes.append(
        "importtime figures are the median of 5 runs. The fresh-process row times the import "
        "and one diff_text call inside a new interpreter, interpreter start excluded."
    )
    return table


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def interleaved_best(calls: Dict[str, Callable[[], object]], repeat: int = REPEAT) -> Dict[str, float]:
    """Run the calls in turn `repeat` times and return each one's shortest wall time in seconds."""
    best = {name: float("inf") for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def git_diff_command(old_path: Path, new_path: Path) -> List[str]:
    return ["git", "--no-pager", "diff", "--no-index", "--no-color", "--no-ext-diff", str(old_path), str(new_path)]


def difflib_unified_seconds(old: str, new: str) -> Optional[float]:
    """Return the time of one difflib.unified_diff run, or None when it exceeded DIFFLIB_TIMEOUT."""
    code = (
        "import difflib, sys, time\n"
        "old = open(sys.argv[1], encoding='utf-8').read().split('\\n')\n"
        "new = open(sys.argv[2], encoding='utf-8').read().split('\\n')\n"
        "started = time.perf_counter()\n"
        "lines = list(difflib.unified_diff(old, new, lineterm=''))\n"
        "print(time.perf_counter() - started)\n"
    )
    with tempfile.TemporaryDirectory() as directory:
        old_path, new_path = write_pair(Path(directory), old, new)
        try:
            completed = subprocess.run([sys.executable, "-c", code, str(old_path), str(new_path)],
                                       capture_output=True, text=True, check=True, timeout=DIFFLIB_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None
    return float(completed.stdout)


def fresh_process_seconds(old: str, new: str) -> float:
    """Return the time to import the engine and diff once in a new interpreter."""
    code = (
        "import sys, time\n"
        "old = open(sys.argv[1], encoding='utf-8').read()\n"
        "new = open(sys.argv[2], encoding='utf-8').read()\n"
        "started = time.perf_counter()\n"
        "from runinfodiffer.engine import diff_text\n"
        "diff_text(old, new)\n"
        "print(time.perf_counter() - started)\n"
    )
    with tempfile.TemporaryDirectory() as directory:
        old_path, new_path = write_pair(Path(directory), old, new)
        completed = subprocess.run([sys.executable, "-c", code, str(old_path), str(new_path)],
                                   capture_output=True, text=True, check=True, cwd=REPO)
    return float(completed.stdout)


def import_microseconds(module: str, runs: int = 5) -> float:
    """Return the median cumulative import time of `module` in microseconds (python -X importtime)."""
    pattern = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| " + re.escape(module) + r"$", re.M)
    figures = []
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                                   capture_output=True, text=True, check=True, cwd=REPO)
        figures.append(int(pattern.search(completed.stderr).group(1)))
    return sorted(figures)[len(figures) // 2]


def write_pair(directory: Path, old: str, new: str) -> Tuple[Path, Path]:
    old_path, new_path = directory / "old.txt", directory / "new.txt"
    old_path.write_text(old, encoding="utf-8", newline="")
    new_path.write_text(new, encoding="utf-8", newline="")
    return old_path, new_path


def sample_pair() -> Optional[Pair]:
    """Return the sample database's largest pair, or None while runinfodiffer.sample is missing."""
    try:
        from runinfodiffer.sample import build_sample
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sample.sqlite"
        manifest = build_sample(path)
        pair = manifest["largest_pair"]
        name = f"CMS.{pair['partition']}:{pair['parameter']}"
        with sqlite3.connect(str(path)) as connection:
            old = read_value(connection, pair["run1"], name)
            new = read_value(connection, pair["run2"], name)
        connection.close()
    return f"sample {pair['parameter']} (runs {pair['run1']}, {pair['run2']})", old, new


def read_value(connection: sqlite3.Connection, run_number: int, name: str) -> str:
    """Return the string value of parameter `name` in a run, from its row with the lowest ID."""
    row = connection.execute(
        "SELECT s.VALUE FROM RUNSESSION_PARAMETER p "
        "JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID "
        "WHERE p.RUNNUMBER = ? AND p.NAME = ? ORDER BY p.ID LIMIT 1",
        (run_number, name),
    ).fetchone()
    if row is None:
        raise LookupError(f"no string value for {name} in run {run_number} of the sample database")
    return row[0] or ""


def config_lines(count: int, rng: random.Random) -> list:
    """Return `count` lines of nested brace-delimited configuration, HCAL-like."""
    lines = []
    crate = 0
    while len(lines) < count:
        crate += 1
        lines.append(f"hcal::uHTRManager crate{crate} {{")
        for slot in range(1, 13):
            lines.append(f"  slot {slot} {{")
            for link in range(rng.randint(8, 16)):
                lines.append(f"    link{link}.zsSimpleThreshold = {rng.randint(0, 12)};")
                lines.append(f"    link{link}.enabled = {rng.choice(['true', 'false'])};")
            lines.append(f'    firmware = "uHTR_fw_{rng.randint(1, 9)}.{rng.randint(0, 30)}";')
            lines.append("  }")
        lines.append("}")
    return lines[:count]


def synthetic_pair(count: int = 20000, changes: int = 300, seed: int = 20161219) -> Pair:
    """Return a seeded config of `count` lines and a copy with about `changes` lines changed.

    Most changes edit a value in place; one in ten inserts or deletes a line instead.
    """
    rng = random.Random(seed)
    old = config_lines(count, rng)
    new = list(old)
    value_lines = [k for k, line in enumerate(old) if " = " in line]
    for index in sorted(rng.sample(value_lines, changes), reverse=True):
        roll = rng.random()
        if roll < 0.05:
            del new[index]
        elif roll < 0.10:
            new.insert(index, f"    extraSetting{index} = 1;")
        else:
            new[index] = re.sub(r"= .*;", f"= {rng.randint(13, 99)};", new[index])
    return f"synthetic config ({changes} edits)", "\n".join(old) + "\n", "\n".join(new) + "\n"


def xml_pair(seed: int = 3) -> Pair:
    """Return a nested XML document of about 20,000 lines and a copy with about 250 values changed."""
    rng = random.Random(seed)
    lines = ["<RunConfig>"]
    for crate in range(200):
        lines.append(f'  <Crate name="crate{crate}">')
        for slot in range(12):
            lines.append(f'    <Slot id="{slot}">')
            lines.extend(f'      <Param name="p{k}" value="{rng.randint(0, 99)}"/>' for k in range(6))
            lines.append("    </Slot>")
        lines.append("  </Crate>")
    lines.append("</RunConfig>")
    new = list(lines)
    for index in rng.sample(range(len(lines)), 300):
        new[index] = new[index].replace('value="', 'value="9')
    return "synthetic XML (nested elements)", "\n".join(lines) + "\n", "\n".join(new) + "\n"


def worst_case_pair(count: int = 50000, seed: int = 7) -> Pair:
    """Return a config of `count` lines and a copy in which every line differs."""
    rng = random.Random(seed)
    old = [f"{line}  # rev {rng.randint(0, 9999)}" for line in config_lines(count, rng)]
    new = [line.replace("# rev", "# revision") for line in old]
    return "worst case (every line changed)", "\n".join(old) + "\n", "\n".join(new) + "\n"
