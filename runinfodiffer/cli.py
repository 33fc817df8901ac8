"""Command line: `runinfodiffer COMMAND ...` and the established `Run_Info_Diff.py` modes.

Exit status follows diff(1): 0 no differences, 1 differences, 2 trouble. Errors print
one plain line; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

from . import __version__
from .errors import ConfigError, RunInfoDifferError, RunNotFound, UsageError
from .schema import MAX_RUN_NUMBER

log = logging.getLogger("runinfodiffer")


def run_number(text: str) -> int:
    """Parse a run number: a non-negative integer."""
    digits = text.strip()
    # int() would also take "330_019" and non-ASCII digits; run numbers are plain ASCII.
    if not (digits.isascii() and digits.isdigit()):
        raise argparse.ArgumentTypeError(f"run number must be a non-negative integer, got {text!r}")
    value = int(digits)
    if value > MAX_RUN_NUMBER:
        raise argparse.ArgumentTypeError(f"run number {text} is too large: the maximum is {MAX_RUN_NUMBER}")
    return value


def non_negative(text: str) -> int:
    """Parse a count that may be zero: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def positive(text: str) -> int:
    """Parse a count of at least one."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got 0")
    return value


#: Widest run-number range one `history` call reads: about the span of a LHC run period.
MAX_HISTORY_SPAN = 200_000


def build_parser() -> argparse.ArgumentParser:
    """Return the argparse definition; the CLI reference in docs/ is generated from it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="settings file (default: $RUNINFODIFFER_CONFIG, "
                        "then runinfodiffer.toml in the checkout)")
    common.add_argument("--database", metavar="URL", help="override the configured database: "
                        "sqlite:///PATH (relative; sqlite:////PATH for an absolute path) or "
                        "oracle://USER@HOST:PORT/SERVICE (password from the password file)")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")

    parser = argparse.ArgumentParser(
        prog="runinfodiffer",
        description="Show what changed in the CMS HCAL configuration between runs recorded in RunInfo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    diff = commands.add_parser("diff", parents=[common], help="diff two runs",
                               description="Diff the catalog parameters of two runs. Exit status: "
                               "0 no differences, 1 differences, 2 trouble.")
    diff.add_argument("run1", type=run_number, help="older run number")
    diff.add_argument("run2", type=run_number, help="newer run number")
    diff.add_argument("-p", "--partition", action="append", default=[], metavar="PARTITION",
                      help="partition to compare, repeatable, any case (default: all in the catalog)")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    diff.add_argument("--no-color", action="store_true", help="never colour the output "
                      "(colours are used only when stdout is a terminal and NO_COLOR is unset)")
    diff.add_argument("--budget", type=non_negative, metavar="LINES", help="changed lines per parameter above which "
                      "only the first hunks are shown (default: diff_budget setting; 0: no limit)")
    diff.set_defaults(handler=cmd_diff)

    check = commands.add_parser("check-db", parents=[common], help="check the database connection and tables",
                                description="Connect, check the RunInfo tables, and count the catalog "
                                "parameters recorded for RUN (default: the latest global run).")
    check.add_argument("run", nargs="?", type=run_number, help="run to count parameters for")
    check.set_defaults(handler=cmd_check_db)

    sample = commands.add_parser("sample-db", parents=[common], help="write the sample RunInfo database",
                                 description="Write a deterministic SQLite RunInfo database with realistic "
                                 "HCAL runs, and its manifest of injected changes beside it.")
    sample.add_argument("path", help="SQLite file to write (overwritten)")
    sample.add_argument("--runs", type=positive, metavar="N", help="number of runs (default: the curated sequence)")
    sample.set_defaults(handler=cmd_sample_db)

    poll = commands.add_parser("poll", parents=[common], help="watch for new global runs and log their changes",
                               description="Diff every new global run against each partition's baseline "
                               "and append the changes to the change log. Runs until SIGTERM or SIGINT.")
    poll.add_argument("--once", action="store_true", help="handle the pending global runs, then exit")
    poll.add_argument("--interval", type=float, metavar="SECONDS",
                      help="seconds between two polls (default: the poll_interval setting, 30)")
    poll.set_defaults(handler=cmd_poll)

    history = commands.add_parser("history", parents=[common], help="list the runs where a parameter changed",
                                  description="List every run in RUN1..RUN2 whose value of PARAMETER differs "
                                  "from the previous run that recorded it, with the diff of each step. "
                                  "Runs in which a partition did not take part are skipped for it. "
                                  f"The range may span at most {MAX_HISTORY_SPAN:,} run numbers. Exit status: "
                                  "0 no change, 1 changes, 2 trouble.")
    history.add_argument("parameter", help="short parameter name, e.g. CFGDOC_TXT (any name RunInfo records)")
    history.add_argument("-p", "--partition", action="append", default=[], metavar="PARTITION",
                         help="partition, repeatable (default: the catalog's partitions for PARAMETER)")
    history.add_argument("--from", dest="run_from", type=run_number, required=True, metavar="RUN1",
                         help="first run of the range")
    history.add_argument("--to", dest="run_to", type=run_number, required=True, metavar="RUN2",
                         help="last run of the range")
    history.add_argument("--global-only", action="store_true", help="consider global runs only")
    history.add_argument("--first-change", action="store_true",
                         help="print only the first run after RUN1 whose value differs from RUN1's")
    history.add_argument("--lookback", type=non_negative, default=50, metavar="RUNS",
                         help="earlier runs searched for a value that a change reverts to (default: 50)")
    history.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    history.add_argument("--no-color", action="store_true", help="never colour the output")
    history.set_defaults(handler=cmd_history)

    serve = commands.add_parser("serve", parents=[common], help="serve the web interface",
                                description="Serve html/ and the web interface in one process with "
                                "wsgiref, at /RunInfoDiffer/index.html as under Apache. For demos and "
                                "development; production runs cgi-bin/viewDiffer.py under Apache.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default: 8000)")
    serve.set_defaults(handler=cmd_serve)
    return parser


def open_reader(args: argparse.Namespace):
    """Load settings and catalog, connect, and return (config, reader)."""
    from .catalog import load_catalog
    from .config import load_config, parse_database_url
    from .db import connect
    from .runinfo import RunInfoReader

    config = load_config(args.config)
    url = parse_database_url(args.database, base=Path.cwd()) if args.database else None
    catalog = load_catalog(config.parameter_file)
    return config, RunInfoReader(connect(config, url), catalog)


def cmd_diff(args: argparse.Namespace) -> int:
    from .compare import compare_runs
    from .history import mark_reverts
    from .render import render_json, render_text

    config, reader = open_reader(args)
    partitions = reader.catalog.resolve_partitions(args.partition)
    budget = config.diff_budget if args.budget is None else args.budget
    with reader.db:
        result = compare_runs(reader, args.run1, args.run2, partitions, budget=budget or None)
        mark_reverts(reader, result, config.global_marker)
    if args.format == "json":
        sys.stdout.write(render_json(result))
    else:
        color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        complete = f"{config.web_base_url}?runnumber1={args.run1}&runnumber2={args.run2}&view=complete"
        sys.stdout.write(render_text(result, color=color, complete_url=complete))
    return 1 if result.changes else 0


def cmd_history(args: argparse.Namespace) -> int:
    import json

    from .history import history_steps, read_series
    from .render import render_history_text

    if args.run_to < args.run_from:
        raise UsageError(f"--to {args.run_to} is below --from {args.run_from}: give the older run first")
    span = args.run_to - args.run_from + 1
    if span > MAX_HISTORY_SPAN:
        raise UsageError(f"the range {args.run_from} to {args.run_to} spans {span:,} run numbers; "
                         f"the maximum is {MAX_HISTORY_SPAN:,}: narrow --from and --to")
    config, reader = open_reader(args)
    catalog = reader.catalog
    default = catalog.parameters.get(args.parameter, catalog.partitions)
    partitions = catalog.resolve_partitions(args.partition) if args.partition else list(default)
    if args.parameter in catalog.parameters:
        foreign = [p for p in partitions if p not in catalog.parameters[args.parameter]]
        if foreign:
            raise UsageError(f"{args.parameter} is diffed for {', '.join(catalog.parameters[args.parameter])} "
                             f"only, not {', '.join(foreign)}")
    progress = _progress_bar if sys.stderr.isatty() else None
    with reader.db:
        series = read_series(reader, args.parameter, partitions, args.run_from, args.run_to,
                             global_only=args.global_only, marker=config.global_marker, progress=progress)
    if progress:
        sys.stderr.write("\n")
    if not any(recorded for values in series.values() for _, recorded, _ in values):
        raise UsageError(f"no run from {args.run_from} to {args.run_to} records {args.parameter} for "
                         f"{', '.join(partitions)}; check the name and the range")
    steps = history_steps(series, args.parameter, partitions, first_change=args.first_change,
                          lookback=args.lookback, budget=config.diff_budget or None)
    if args.format == "json":
        document = {"parameter": args.parameter, "partitions": partitions, "from": args.run_from,
                    "to": args.run_to, "global_only": args.global_only,
                    "steps": [step.to_dict() for step in steps]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        scope = "global runs" if args.global_only else "runs"
        title = f"History of {args.parameter} in {', '.join(partitions)}, {scope} {args.run_from} to {args.run_to}"
        color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        sys.stdout.write(render_history_text(title, steps, color=color))
    return 1 if steps else 0


def _progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rreading runs [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def cmd_check_db(args: argparse.Namespace) -> int:
    config, reader = open_reader(args)
    with reader.db:
        print(f"database: {reader.db.url} (schema prefix: {config.schema or 'none'})")
        run = args.run if args.run is not None else reader.latest_global_run(config.global_marker)
        if run is None:
            print(f"tables: readable; no global run found (marker {config.global_marker!r})")
            return 0
        if not reader.read_run(run).exists:
            raise RunNotFound(f"run {run} not found: RunInfo has no HCAL or Level-0 record for it")
        recorded, total = reader.count_recorded(run)
        print("tables: RUNSESSION_PARAMETER and RUNSESSION_STRING readable")
        print(f"run {run}: {recorded} of {total} catalog parameters recorded")
    return 0


def cmd_sample_db(args: argparse.Namespace) -> int:
    import sqlite3

    from .sample import build_sample, manifest_path

    try:
        manifest = build_sample(args.path, runs=args.runs)
    except (OSError, sqlite3.Error) as error:
        raise ConfigError(f"cannot write the sample database {args.path}: {error}") from error
    print(f"wrote {args.path} with {len(manifest['runs'])} runs; manifest {manifest_path(args.path)}")
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from .poller import cmd_poll as run_poller

    return run_poller(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from .config import ENV_CONFIG
    from .errors import UsageError
    from .web.server import serve

    if args.database:
        raise UsageError("serve reads the database from the settings file: set 'database' there, not --database")
    if args.config:
        os.environ[ENV_CONFIG] = args.config  # the app reads its settings per request
    from .config import load_config

    try:
        serve(args.host, args.port, change_log=load_config(args.config).change_log)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror}; "
                         "choose another port with --port") from error
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run a command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%SZ",
    )
    # UTC, as DifferBot logs: the poller and the bot run on different hosts.
    logging.Formatter.converter = time.gmtime
    try:
        return args.handler(args)
    except RunInfoDifferError as error:
        if args.debug:
            raise
        print(f"runinfodiffer: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


#: `diff` options that take a value, as `remote_run` passes them through.
_VALUE_OPTIONS = ("--format", "--config", "--database", "--budget")


def run_info_diff_main(argv: Optional[List[str]] = None) -> int:
    """Translate the established `Run_Info_Diff.py MODE ...` forms to commands.

    ``remote_run R1 R2 [PARTITION ...]`` diffs two runs; ``local_run`` starts the poller.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: Run_Info_Diff.py remote_run RUN1 RUN2 [PARTITION ...] | local_run [--once]"
    if not argv or argv[0] in ("-h", "--help"):
        print(usage, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    mode, rest = argv[0], argv[1:]
    if mode == "remote_run":
        if len(rest) < 2:
            print(f"Run_Info_Diff.py: error: remote_run needs two run numbers\n{usage}", file=sys.stderr)
            return 2
        # Words after the runs are partitions; "--" options pass through, with the value
        # of those that take one ("--format json" as well as "--format=json").
        options: List[str] = []
        partitions: List[str] = []
        words = iter(rest[2:])
        for word in words:
            if not word.startswith("--"):
                partitions += ["-p", word]
                continue
            options.append(word)
            if word in _VALUE_OPTIONS:
                options.append(next(words, ""))
        return main(["diff", rest[0], rest[1], *partitions, *options])
    if mode == "local_run":
        return main(["poll", *rest])
    print(f"Run_Info_Diff.py: error: unknown mode {mode!r}\n{usage}", file=sys.stderr)
    return 2

