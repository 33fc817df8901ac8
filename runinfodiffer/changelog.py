"""The change log: `BotUrlLog.html` for people and the bot, `BotUrlLog.json` beside it.

The poller appends one entry per global run in which something changed; the web
interface lists the entries and the bot posts them. The JSON file is the source of
truth; the HTML file is regenerated from it on every write. Both are written to a
temporary file and moved into place with `os.replace`, so a reader never sees half an
entry. Entry ids and run numbers also sit in `data-` attributes, so programs read the
HTML without guessing from its text. This module uses only the standard library,
because the bot host imports it without the database or diff code.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional

from .files import write_atomic

FORMAT_VERSION = 1


@dataclass
class Comparison:
    """One diff in an entry: partitions that shared the baseline `run1`."""

    run1: int
    run2: int
    partitions: List[str]
    #: Number of changed parameters.
    changed: int
    url: str
    text_url: str


@dataclass
class Entry:
    """One processed global run with at least one change."""

    id: int
    #: UTC time of writing, ISO 8601 with a trailing Z.
    time: str
    run: int
    summary: str
    comparisons: List[Comparison] = field(default_factory=list)

    @property
    def partitions(self) -> List[str]:
        return [p for comparison in self.comparisons for p in comparison.partitions]

    @classmethod
    def from_dict(cls, data: dict) -> "Entry":
        comparisons = [Comparison(**c) for c in data.get("comparisons", [])]
        return cls(int(data["id"]), data["time"], int(data["run"]), data["summary"], comparisons)


def json_path(html_path: Path) -> Path:
    """Return the JSON file beside the HTML log (`BotUrlLog.html` -> `BotUrlLog.json`)."""
    return Path(html_path).with_suffix(".json")


def read_entries(html_path: Path) -> List[Entry]:
    """Read the entries from the JSON file beside `html_path`; none when it does not exist."""
    path = json_path(html_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_json(text)


def parse_json(text: str) -> List[Entry]:
    """Parse the JSON form; raise ValueError on anything else."""
    data = json.loads(text)
    if not isinstance(data, dict) or "entries" not in data:
        raise ValueError("not a RunInfoDiffer change log: no 'entries' key")
    return [Entry.from_dict(item) for item in data["entries"]]


def append_entry(html_path: Path, entry: Entry, cap: int = 100) -> Entry:
    """Append `entry` unless an entry for the same run exists; rewrite both files.

    Returns the stored entry: `entry`, or the earlier one for that run. Keying on the run
    makes a repeat after a crash harmless, and rewriting both files repairs an HTML file
    that missed the last entry. Only the newest `cap` entries are kept.
    """
    entries = read_entries(html_path)
    stored = next((e for e in entries if e.run == entry.run), None)
    if stored is None:
        entries.append(entry)
        stored = entry
    entries = entries[-cap:] if cap > 0 else entries
    write_entries(html_path, entries)
    return stored


def write_entries(html_path: Path, entries: List[Entry]) -> None:
    """Write the JSON file, then the HTML file, each atomically."""
    payload = {"version": FORMAT_VERSION, "entries": [asdict(e) for e in entries]}
    write_atomic(json_path(html_path), json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    write_atomic(Path(html_path), render_html(entries))


_STYLE = (
    "body{font-family:sans-serif;margin:1em 2em}li.entry{margin:.6em 0}"
    "time{color:#555;font-family:monospace}ul{margin:.2em 0}"
)


def render_html(entries: List[Entry]) -> str:
    """Return the HTML change log, newest entry last, every value escaped."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>RunInfoDiffer change log</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>HCAL configuration changes</h1>",
        f'<ol class="changelog" data-version="{FORMAT_VERSION}">',
    ]
    for entry in entries:
        out.append(
            f'<li class="entry" id="entry-{entry.id}" data-entry-id="{entry.id}" '
            f'data-run="{entry.run}" data-time="{esc(entry.time)}">'
            f'<time datetime="{esc(entry.time)}">{esc(entry.time)}</time> '
            f'<span class="summary">{esc(entry.summary)}</span><ul>'
        )
        for c in entry.comparisons:
            names = " ".join(c.partitions)
            out.append(
                f'<li class="comparison" data-run1="{c.run1}" data-run2="{c.run2}" '
                f'data-partitions="{esc(names)}" data-changed="{c.changed}">'
                f'<a class="view" href="{esc(c.url)}">run {c.run1} &rarr; {c.run2} '
                f"({esc(', '.join(c.partitions))}): {c.changed} changed</a> "
                f'<a class="text" href="{esc(c.text_url)}">text</a></li>'
            )
        out.append("</ul></li>")
    out.extend(["</ol>", "</body></html>", ""])
    return "\n".join(out)


class _LogParser(HTMLParser):
    """Collects entries from the `data-` attributes and links of the HTML log."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: List[Entry] = []
        self._comparison: Optional[Comparison] = None
        self._in_summary = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes: Dict[str, str] = {k: v or "" for k, v in attrs}
        classes = attributes.get("class", "").split()
        if tag == "li" and "entry" in classes:
            self.entries.append(Entry(int(attributes["data-entry-id"]), attributes.get("data-time", ""),
                                      int(attributes["data-run"]), ""))
        elif tag == "li" and "comparison" in classes and self.entries:
            self._comparison = Comparison(
                int(attributes["data-run1"]), int(attributes["data-run2"]),
                attributes.get("data-partitions", "").split(), int(attributes.get("data-changed", "0")), "", "",
            )
            self.entries[-1].comparisons.append(self._comparison)
        elif tag == "a" and self._comparison is not None:
            field_name = "text_url" if "text" in classes else "url"
            setattr(self._comparison, field_name, attributes.get("href", ""))
        elif tag == "span" and "summary" in classes:
            self._in_summary = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_summary = False
        elif tag == "li":
            self._comparison = None

    def handle_data(self, data: str) -> None:
        if self._in_summary and self.entries:
            self.entries[-1].summary += data


def parse_html(text: str) -> List[Entry]:
    """Parse entries from the HTML log by their `data-` attributes."""
    parser = _LogParser()
    parser.feed(text)
    parser.close()
    return parser.entries
