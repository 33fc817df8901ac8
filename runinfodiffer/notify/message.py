"""Building one chat message (or e-mail body) per change-log entry.

A message is a summary line (run, partitions, number of changed parameters), one link
per comparison to the web view, and each comparison's text diff in a code block. Diffs
are trimmed so the message stays under `limit` characters and each Slack section block
under 3,000. Diff text is escaped so that nothing in a configuration value can form
markup: in Slack `&`, `<` and `>` become entities, so XML shows as written and a value
containing `<!channel>` or `<@U123>` mentions no one.

Mattermost renders the `text` field as Markdown and ignores `blocks`. There the text
alone carries the whole message, links use Markdown syntax, and entities would show
literally inside a code block. Instead a zero-width space is put after every `<`
that starts `<!` or `<@`, which stops Mattermost from turning `<!channel>`, `<!here>`,
`<!all>` and `<@USERID>` into mentions while the text still looks the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple, Union
from urllib.parse import quote

from ..changelog import Comparison, Entry

#: Slack rejects a section block whose text exceeds 3,000 characters.
SECTION_LIMIT = 3000
ZERO_WIDTH_SPACE = "\u200b"
ARROW = "\u2192"


@dataclass
class Message:
    """Content that one notifier sends for one entry."""

    #: Slack mrkdwn or Mattermost Markdown; complete on its own.
    text: str
    #: Slack Block Kit blocks with the same content, or None (Mattermost, e-mail).
    blocks: Optional[List[dict]] = None
    subject: str = ""
    #: Diff lines left out to respect the size limit, over all comparisons.
    omitted_lines: int = 0


@dataclass
class MissingDiff:
    """A diff that could not be fetched, with the reason shown in its place."""

    reason: str


#: A fetched diff, or the reason it is missing.
DiffOrReason = Union[str, MissingDiff]


def summary_line(entry: Entry) -> str:
    """Return e.g. ``Run 330020: 3 parameters changed in HCAL_HBHE, HCAL_HF`` (no markup)."""
    count = sum(comparison.changed for comparison in entry.comparisons)
    noun = "parameter" if count == 1 else "parameters"
    partitions = ", ".join(entry.partitions) or "no partition"
    return f"Run {entry.run}: {count} {noun} changed in {partitions}"


def comparison_label(comparison: Comparison) -> str:
    partitions = ", ".join(comparison.partitions)
    return f"run {comparison.run1} {ARROW} {comparison.run2} ({partitions}): {comparison.changed} changed"


def escape_slack(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack requires for text that is not markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_mattermost(text: str) -> str:
    """Break `<!` and `<@`, which Mattermost's webhook handler turns into mentions."""
    return text.replace("<!", "<" + ZERO_WIDTH_SPACE + "!").replace("<@", "<" + ZERO_WIDTH_SPACE + "@")


def _break_fences(text: str) -> str:
    """Keep a value from closing the code block: no three backticks in a row."""
    return text.replace("```", "`" + ZERO_WIDTH_SPACE + "`" + ZERO_WIDTH_SPACE + "`")


def slack_link(url: str, label: str) -> str:
    """Return Slack link markup `<url|label>` with both parts escaped."""
    safe_url = quote(url, safe=":/?&=%#;,+@!$'*~._-").replace("&", "&amp;")
    return f"<{safe_url}|{escape_slack(label).replace('|', '/')}>"


def markdown_link(url: str, label: str) -> str:
    safe_url = quote(url, safe=":/?&=%#;,+@!$'*~._-")
    safe_label = label.replace("[", "(").replace("]", ")")
    return f"[{escape_mattermost(safe_label)}]({safe_url})"


class _Markup:
    """Slack or Mattermost spelling of bold, links and escaping."""

    def __init__(self, flavor: str) -> None:
        self.flavor = flavor

    def bold(self, text: str) -> str:
        return f"**{text}**" if self.flavor == "mattermost" else f"*{text}*"

    def link(self, url: str, label: str) -> str:
        return markdown_link(url, label) if self.flavor == "mattermost" else slack_link(url, label)

    def escape(self, text: str) -> str:
        return escape_mattermost(text) if self.flavor == "mattermost" else escape_slack(text)


def build_message(entry: Entry, diffs: List[DiffOrReason], flavor: str = "slack",
                  limit: int = 3500) -> Message:
    """Return the chat message for `entry`; `diffs` contains one item per comparison, in order."""
    markup = _Markup(flavor)
    summary = summary_line(entry)
    lead = f"Run {entry.run}"
    header_lines = [markup.bold(lead) + markup.escape(summary[len(lead):])]
    for comparison in entry.comparisons:
        header_lines.append(markup.link(comparison.url, comparison_label(comparison)))
    header = "\n".join(header_lines)

    sections: List[str] = []
    omitted = 0
    remaining = limit - len(header) - 2 * len(entry.comparisons)
    for index, (comparison, diff) in enumerate(zip(entry.comparisons, diffs)):
        budget = min(SECTION_LIMIT - 100, remaining // (len(entry.comparisons) - index))
        section, left_out = _diff_section(comparison, diff, markup, budget)
        sections.append(section)
        omitted += left_out
        remaining -= len(section)

    text = "\n\n".join([header, *sections])
    blocks = None
    if flavor == "slack":
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": header}}]
        blocks.extend({"type": "section", "text": {"type": "mrkdwn", "text": section}} for section in sections)
    return Message(text=text, blocks=blocks, subject=summary, omitted_lines=omitted)


def _diff_section(comparison: Comparison, diff: DiffOrReason, markup: _Markup,
                  budget: int) -> Tuple[str, int]:
    """Return (section text, diff lines left out) within `budget` characters."""
    if isinstance(diff, MissingDiff):
        return f"diff not available ({markup.escape(diff.reason)}): " + markup.link(comparison.url, "web view"), 0

    lines = diff.rstrip("\n").split("\n")
    fence_open, fence_close = "```\n", "\n```"
    kept_lines: List[str] = []
    used = len(fence_open) + len(fence_close)
    for position, raw in enumerate(lines):
        line = _break_fences(markup.escape(raw))
        trailer = _trailer(comparison, markup, len(lines) - position)
        # Room must stay for the trailer unless this is the last line.
        reserve = 0 if position == len(lines) - 1 else len(trailer) + 1
        if used + len(line) + 1 + reserve <= budget:
            kept_lines.append(line)
            used += len(line) + 1
            continue
        if not kept_lines:
            after_cut = _trailer(comparison, markup, len(lines) - position - 1)
            kept_lines.append(_cut_line(raw, markup, budget - used - len(after_cut) - 2))
            position += 1
        left_out = len(lines) - position
        body = fence_open + "\n".join(kept_lines) + fence_close
        return body + "\n" + _trailer(comparison, markup, left_out), left_out
    return fence_open + "\n".join(kept_lines) + fence_close, 0


def _trailer(comparison: Comparison, markup: _Markup, left_out: int) -> str:
    if left_out == 0:
        return "... the line was cut: " + markup.link(comparison.url, "full diff")
    noun = "line" if left_out == 1 else "lines"
    return f"... {left_out} more {noun}: " + markup.link(comparison.url, "full diff")


def _cut_line(raw: str, markup: _Markup, room: int) -> str:
    """Cut one over-long line so its escaped form fits in `room` characters, marked with an ellipsis."""
    size = max(room - 1, 0)
    while size > 0 and len(_break_fences(markup.escape(raw[:size]))) > room - 1:
        size -= max(1, (len(_break_fences(markup.escape(raw[:size]))) - room + 1) // 5)
    return _break_fences(markup.escape(raw[:max(size, 0)])) + "\u2026"


def build_plain(entry: Entry, diffs: List[DiffOrReason], limit: int = 200_000) -> Message:
    """Return an unescaped plain-text message for e-mail; long diffs are cut at `limit` characters."""
    parts = [summary_line(entry), ""]
    for comparison, diff in zip(entry.comparisons, diffs):
        parts.append(f"{comparison_label(comparison).replace(ARROW, '->')}")
        parts.append(f"  {comparison.url}")
        parts.append("")
        if isinstance(diff, MissingDiff):
            parts.append(f"diff not available ({diff.reason})")
        elif len(diff) > limit:
            more = diff[limit:].count("\n")
            parts.append(diff[:limit].rstrip("\n"))
            parts.append(f"... {more} more lines: {comparison.url}")
        else:
            parts.append(diff.rstrip("\n"))
        parts.append("")
    return Message(text="\n".join(parts), subject=summary_line(entry))
