"""Bench section "web": the CGI script under a real Apache against a bare Python CGI script.

Apache (mpm_event with mod_cgid) serves a copy of the checkout on 127.0.0.1 as on
hcalmon, and runs both scripts as www-data with the same interpreter: a venv of
/usr/bin/python3 with Jinja2 and pygit2 (built once, see tests/servers/apache.py).
The "hello" script prints a fixed text and imports nothing, so it is the floor of
any CGI request: process start, interpreter start, Apache's CGI handling.

Requests run round-robin over all URLs, so load from other processes hits every URL
alike. Each figure is the median of ROUNDS requests, measured at the client, each over
a new connection. Targets: the truncated view of the sample's demo pair within
6x the hello script, the complete view of its largest pair within 15x.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from bench.run import Report, Table

ROUNDS = 40
WARMUP = 3
SCRIPT = "/cgi-bin/RunInfoDiffer/viewDiffer.py"
HELLO = "/cgi-bin/RunInfoDiffer/hello.py"
TRUNCATED_TARGET = 6.0
COMPLETE_TARGET = 15.0


def run(report: Report) -> None:
    """Start Apache on the sample database, time the URLs and add the table to `report`."""
    import sys

    from runinfodiffer.config import CHECKOUT

    sys.path.insert(0, str(CHECKOUT))
    from runinfodiffer.sample import build_sample
    from tests.servers.apache import cgi_venv, prepare_site, start_apache

    if not Path("/usr/sbin/apache2").exists():
        table = Table("Web interface under Apache (CGI)", ["result"])
        table.rows.append(["skipped: /usr/sbin/apache2 is not installed"])
        report.add(table)
        return

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "sample.sqlite"
        manifest = build_sample(database)
        python = cgi_venv()
        site = prepare_site(CHECKOUT, database, python, prefix="runinfodiffer-bench-")
        try:
            write_hello(site.checkout / "cgi-bin" / "hello.py", python)
            folder = site.folder / "apache"
            folder.mkdir(mode=0o755)
            with start_apache(folder, site.checkout, env=site.cgi_env) as apache:
                report.add(measure(apache.url, manifest))
        finally:
            shutil.rmtree(site.folder, ignore_errors=True)


def write_hello(path: Path, python: Path) -> None:
    """Write the bare CGI script: same interpreter, no imports."""
    path.write_text(f'#!{python}\nprint("Content-Type: text/plain; charset=utf-8\\r\\n\\r\\nhello")\n',
                    encoding="utf-8")
    path.chmod(0o755)


def measure(base: str, manifest: dict) -> Table:
    """Time every URL round-robin and return the table with ratios and targets."""
    demo, largest = manifest["demo_pair"], manifest["largest_pair"]
    cases: List[Tuple[str, str, Optional[float]]] = [
        ("bare Python hello CGI", HELLO, None),
        ("static html/index.html", "/RunInfoDiffer/index.html", None),
        (f"truncated view, demo pair {demo['run1']}/{demo['run2']}",
         f"{SCRIPT}?runnumber1={demo['run1']}&runnumber2={demo['run2']}", TRUNCATED_TARGET),
        (f"JSON, demo pair {demo['run1']}/{demo['run2']}",
         f"{SCRIPT}?runnumber1={demo['run1']}&runnumber2={demo['run2']}&format=json", None),
        (f"complete view, largest pair {largest['run1']}/{largest['run2']} ({largest['parameter']})",
         f"{SCRIPT}?runnumber1={largest['run1']}&runnumber2={largest['run2']}&view=complete", COMPLETE_TARGET),
        ("run list", f"{SCRIPT}?page=runs", None),
    ]
    load_before = _load_average()
    fetchers = {label: _fetcher(base + path) for label, path, _ in cases}
    sizes = {label: len(fetch()) for label, fetch in fetchers.items()}
    for _ in range(WARMUP - 1):
        for fetch in fetchers.values():
            fetch()
    times = round_robin(fetchers, ROUNDS)

    hello = statistics.median(times[cases[0][0]])
    table = Table("Web interface under Apache (mod_cgid), median per request",
                  ["request", "bytes", "median", "p90", "x hello", "target", "result"])
    for label, _, target in cases:
        median = statistics.median(times[label])
        ratio = median / hello
        if target is None:
            limit, result = "none", "-"
        else:
            limit, result = f"<= {target:.0f}x", "PASS" if ratio <= target else "FAIL"
        table.rows.append([
            label, str(sizes[label]), f"{median * 1000:.1f} ms", f"{_percentile(times[label], 0.9) * 1000:.1f} ms",
            f"{ratio:.1f}x", limit, result,
        ])
    table.notes.append(
        f"{ROUNDS} rounds after {WARMUP} warm-up rounds; one new HTTP connection per request; "
        "both CGI scripts run as www-data with the same /usr/bin/python3 venv. Times include "
        "process and interpreter start, imports, the SQLite query and rendering. "
        f"Load average before and after: {load_before} and {_load_average()} on {os.cpu_count()} CPUs; "
        "other work on the machine slows the import-heavy views more than the hello script."
    )
    return table


def _load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _fetcher(url: str) -> Callable[[], bytes]:
    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"{url} returned HTTP {response.status}, expected 200")
            return response.read()

    return fetch


def round_robin(fetchers: Dict[str, Callable[[], bytes]], rounds: int) -> Dict[str, List[float]]:
    """Return per label the seconds of each of `rounds` requests, taken in turn."""
    times: Dict[str, List[float]] = {label: [] for label in fetchers}
    for _ in range(rounds):
        for label, fetch in fetchers.items():
            started = time.perf_counter()
            fetch()
            times[label].append(time.perf_counter() - started)
    return times


def _percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
