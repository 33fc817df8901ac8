"""Generate docs/cli.md from the argparse definitions, so docs and `--help` never drift.

Run `python -m runinfodiffer.clidoc > docs/cli.md` (or `make docs`) after changing an
option; a test fails while the file differs from this output.
"""

from __future__ import annotations

import argparse
import os
import sys

from .cli import build_parser

#: Fixed terminal width, so the help text wraps the same everywhere.
HELP_WIDTH = "88"


def render_cli_reference() -> str:
    """Return the Markdown CLI reference: the main help, then each command's help."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        parser = build_parser()
        parts = [
            "# Command-line reference\n",
            "Generated from the argparse definitions by `python -m runinfodiffer.clidoc`;",
            "do not edit by hand. `cgi-bin/Run_Info_Diff.py remote_run R1 R2 [PARTITION ...]`",
            "is `runinfodiffer diff R1 R2 -p PARTITION ...`, and `Run_Info_Diff.py local_run`",
            "is `runinfodiffer poll`.\n",
            "```text",
            parser.format_help().rstrip(),
            "```",
        ]
        for name, subparser in _subcommands(parser):
            parts.extend([f"\n## runinfodiffer {name}\n", "```text", subparser.format_help().rstrip(), "```"])
        # Python 3.9 heads the option list "optional arguments:"; 3.10 and later say "options:".
        return "\n".join(parts).replace("optional arguments:", "options:") + "\n"
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


if __name__ == "__main__":
    sys.stdout.write(render_cli_reference())
