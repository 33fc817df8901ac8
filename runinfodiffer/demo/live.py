"""The live demo: sample database, one CLI diff, then all four parts running together.

The demo starts three processes, each with its log in `var/`: `runinfodiffer serve`
(web interface), `runinfodiffer poll` (poller) and `bot/DifferBot.py` (bot). This
process runs a Slack-compatible endpoint that prints each message, and a replay that
appends the next runs of the sample sequence every few seconds. On a terminal the demo runs until
Ctrl-C; otherwise it stops once the replayed runs have had time to reach "Slack", and
exits with status 1 when no message arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import List, Optional, Tuple

from ..changelog import read_entries
from ..cli import main as cli_main
from ..config import CHECKOUT, CONFIG_NAME
from ..files import LockHeld, PidLock
from .slack_sink import SlackSink

DEFAULT_FOLDER = CHECKOUT / "var"

CHECKOUT_CONFIG = """\
# Written by `make demo` because no runinfodiffer.toml existed: the sample database.
database = "sqlite:///var/sample.sqlite"
change_log = "var/BotUrlLog.html"
state = "var/poller-state.json"
web_base_url = "http://127.0.0.1:{port}/cgi-bin/viewDiffer.py"
"""

LIVE_CONFIG = """\
# Written by `make demo` on every start; relative paths are relative to this file.
database = "sqlite:///sample.sqlite"
parameter_file = "{parameter_file}"
change_log = "BotUrlLog.html"
state = "poller-state.json"
poll_interval = {poll_interval}
web_base_url = "http://127.0.0.1:{port}/cgi-bin/viewDiffer.py"

[bot]
change_log_url = "http://127.0.0.1:{port}/RunInfoDiffer/BotUrlLog.html"
proxy = ""
poll_interval = {bot_interval}
state = "bot-state.json"
notifiers = ["webhook"]
"""


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runinfodiffer.demo",
                                     description="Run RunInfoDiffer on the embedded sample database.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")),
                        help="web interface port on 127.0.0.1 (default: $DEMO_PORT or 8000; "
                        "a free port is chosen when it is taken)")
    parser.add_argument("--runs", type=int, default=40, help="runs the replay appends (default: 40)")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between replayed runs (default: 4)")
    parser.add_argument("--poll-interval", type=float, default=3.0, help="poller interval, seconds (default: 3)")
    parser.add_argument("--bot-interval", type=float, default=2.0, help="bot interval, seconds (default: 2)")
    parser.add_argument("--grace", type=float, default=25.0, help="seconds a demo without a terminal "
                        "keeps running after the last replayed run, so its changes reach Slack (default: 25)")
    parser.add_argument("--no-live", action="store_true", help="stop after the command-line diff")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER,
                        help="folder for the sample database, config, change log and logs (default: var/)")
    return parser.parse_args(argv)


def free_port(preferred: int) -> int:
    """Return `preferred` when it can be bound on 127.0.0.1, else (or for 0) a free port."""
    with socket.socket() as probe:
        # As the web server does: a port in TIME-WAIT after the last demo is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", preferred))
            return probe.getsockname()[1]
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def prepare(folder: Path, port: int, args: argparse.Namespace) -> dict:
    """Build the sample database and write the configs; return the sample manifest."""
    from ..sample import build_sample

    folder.mkdir(parents=True, exist_ok=True)
    for pattern in ("BotUrlLog.*", "poller-state.json*", "bot-state.json*", "demo-*.log"):
        for leftover in folder.glob(pattern):
            leftover.unlink()
    manifest = build_sample(folder / "sample.sqlite")
    print(f"Sample RunInfo database: {folder / 'sample.sqlite'} ({len(manifest['runs'])} runs)")

    (folder / "demo.toml").write_text(LIVE_CONFIG.format(port=port, poll_interval=args.poll_interval,
                                                      parameter_file=CHECKOUT / "diffed_parameters.txt",
                                              bot_interval=args.bot_interval), encoding="utf-8")
    checkout_config = CHECKOUT / CONFIG_NAME
    if folder == DEFAULT_FOLDER and not checkout_config.exists():
        checkout_config.write_text(CHECKOUT_CONFIG.format(port=port), encoding="utf-8")
        print(f"Wrote {checkout_config} for the command line")
    return manifest


def show_cli_diff(folder: Path, manifest: dict) -> int:
    """Print the diff of the sample's demo pair as `remote_run` does; return its status."""
    pair = manifest["demo_pair"]
    print(f"\n$ python cgi-bin/Run_Info_Diff.py remote_run {pair['run1']} {pair['run2']}\n", flush=True)
    status = cli_main(["diff", str(pair["run1"]), str(pair["run2"]), "--config", str(folder / "demo.toml")])
    print(f"\n(exit status {status}: 0 no differences, 1 differences, 2 trouble)", flush=True)
    return status


def start_processes(folder: Path, port: int, webhook_url: str) -> List[Tuple[str, subprocess.Popen]]:
    """Start web server, poller and bot, each in its own session with its log in var/."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "RUNINFODIFFER_WEBHOOK_URL": webhook_url}
    config = ["--config", str(folder / "demo.toml")]
    commands = [
        ("web", [sys.executable, "-m", "runinfodiffer", "serve", "--port", str(port), *config]),
        ("poller", [sys.executable, str(CHECKOUT / "cgi-bin" / "Run_Info_Diff.py"), "local_run", *config]),
        # The change log starts empty, so every entry is new: --replay posts those the
        # poller writes before the bot's first read.
        ("bot", [sys.executable, str(CHECKOUT / "bot" / "DifferBot.py"), "--replay", "1000", *config]),
    ]
    processes = []
    for name, command in commands:
        log = open(folder / f"demo-{name}.log", "w", encoding="utf-8")
        processes.append((name, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=CHECKOUT,
                                                 env=environment, start_new_session=True)))
        log.close()
    return processes


def wait_for_web(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/RunInfoDiffer/index.html", timeout=2):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def replay(database: Path, count: int, every: float, stop: threading.Event) -> None:
    """Append `count` runs of the sample sequence, one every `every` seconds."""
    from ..sample import append_runs, manifest_path

    for _ in range(count):
        if stop.wait(every):
            return
        (run,) = append_runs(database, 1)
        runs = json.loads(manifest_path(database).read_text(encoding="utf-8"))["runs"]
        info = next((r for r in runs if r["run"] == run), {})
        kind = info.get("kind", "?")
        detail = "reached Running" if info.get("reached_running") else "did not reach Running"
        print(f"replay: appended run {run} ({kind}, {detail})", flush=True)


def stop_processes(processes: List[Tuple[str, subprocess.Popen]]) -> None:
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within 15 s; killing it", file=sys.stderr)
            process.kill()


def _interrupt(signum: int, frame: object) -> None:
    """Turn SIGTERM into the KeyboardInterrupt that Ctrl-C raises, so both clean up alike."""
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    folder = args.folder.resolve()
    # Two demos on one folder would rebuild the database and share the poller state.
    lock = PidLock(folder / "demo.lock", lambda pid: f"another demo (pid {pid}) is running in {folder}; "
                   "stop it first, or give this one another --folder")
    try:
        lock.acquire()
    except LockHeld as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return run_demo(args, folder)
    finally:
        lock.release()


def run_demo(args: argparse.Namespace, folder: Path) -> int:
    """Run the demo in `folder`, which the caller has locked; return the exit status."""
    port = free_port(args.port)
    if args.port and port != args.port:
        print(f"Port {args.port} is taken; using {port}")
    manifest = prepare(folder, port, args)
    if show_cli_diff(folder, manifest) == 2 or args.no_live:
        return 0 if args.no_live else 2

    interactive = sys.stdin is not None and sys.stdin.isatty()
    sink = SlackSink().start()
    processes = start_processes(folder, port, sink.url)
    signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    feeder = threading.Thread(target=replay, args=(folder / "sample.sqlite", args.runs, args.every, stop),
                              name="replay", daemon=True)
    try:
        if not wait_for_web(port):
            print(f"The web server did not start; see {folder / 'demo-web.log'}", file=sys.stderr)
            return 2
        print(f"\nOpen http://127.0.0.1:{port}/RunInfoDiffer/index.html in a browser "
              f"(recent changes: http://127.0.0.1:{port}/cgi-bin/viewDiffer.py?page=changes).")
        print(f"Poller, web and bot logs: {folder}/demo-*.log. "
              f"{'Press Ctrl-C to stop.' if interactive else 'Stops after the replay.'}\n", flush=True)
        feeder.start()
        while feeder.is_alive() or interactive:
            time.sleep(0.5)
            for name, process in processes:
                if process.poll() is not None:
                    print(f"{name} exited with status {process.returncode}; see {folder / f'demo-{name}.log'}",
                          file=sys.stderr)
                    return 2
        time.sleep(args.grace)
    except KeyboardInterrupt:
        print("\nStopping the demo ...")
    finally:
        stop.set()
        stop_processes(processes)
        sink.stop()

    entries = read_entries(folder / "BotUrlLog.html")
    print(f"Demo stopped: {len(entries)} change-log entries, {len(sink.messages)} Slack messages.")
    if not interactive and not sink.messages:
        print(f"No message reached the Slack endpoint; see the logs in {folder}.", file=sys.stderr)
        return 1
    return 0
