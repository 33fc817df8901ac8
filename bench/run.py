"""Run the benchmark sections and print their tables: the entry point of `make bench`.

Usage: ``python -m bench.run [SECTION ...]``. Without arguments every section runs.

A section is a module ``bench/<section>.py`` with a function ``run(report: Report) ->
None`` that measures something and adds tables to `report`. Sections are found by
listing the bench package, so a new one (web, poller, database statements) needs no
change here. The engine section runs first, the others in name order.

Every table row that checks a target ends in PASS or FAIL. The exit status is 1 when
any row failed, so CI or a person can tell a regression without reading the figures.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence

#: Modules of the bench package that are not sections.
NOT_SECTIONS = {"run"}

#: Sections run before all others, in this order.
FIRST_SECTIONS = ["engine"]


@dataclass
class Table:
    """One printed table: a title, column headers, rows of cells and notes below it."""

    title: str
    headers: Sequence[str]
    rows: List[Sequence[str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def render(self) -> str:
        """Return the table as Markdown, so it can be pasted into docs/benchmarks.md."""
        cells = [list(self.headers)] + [[str(cell) for cell in row] for row in self.rows]
        widths = [max(len(row[k]) for row in cells) for k in range(len(self.headers))]
        lines = [f"### {self.title}", ""]
        for index, row in enumerate(cells):
            lines.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |")
            if index == 0:
                lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        lines.extend(["", *self.notes])
        return "\n".join(lines).rstrip() + "\n"


@dataclass
class Report:
    """The tables of all sections, printed as each is added, and the count of failed targets."""

    tables: List[Table] = field(default_factory=list)
    failures: int = 0

    def add(self, table: Table) -> None:
        """Store `table`, print it at once and count its FAIL cells."""
        self.tables.append(table)
        self.failures += sum(1 for row in table.rows for cell in row if str(cell).startswith("FAIL"))
        print(table.render(), flush=True)


def section_names() -> List[str]:
    """Return the section modules of the bench package, FIRST_SECTIONS first."""
    found = {
        module.name
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name not in NOT_SECTIONS and not module.name.startswith("_")
    }
    first = [name for name in FIRST_SECTIONS if name in found]
    return first + sorted(found - set(first))


def main(argv: Sequence[str]) -> int:
    """Run the sections named in `argv` (all when empty) and return the exit status."""
    available = section_names()
    wanted = list(argv) or available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown bench section(s): {', '.join(unknown)}. Available: {', '.join(available)}", file=sys.stderr)
        return 2

    report = Report()
    for name in wanted:
        started = time.perf_counter()
        print(f"## {name}\n", flush=True)
        module = importlib.import_module(f"bench.{name}")
        module.run(report)
        print(f"({name} section took {time.perf_counter() - started:.1f} s)\n", flush=True)
    if report.failures:
        print(f"{report.failures} target(s) FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
