"""The Jinja2 environment of the web interface.

Autoescaping is on for every template, the Atom feed included, so any value printed
with ``{{ }}`` is escaped; only `Markup` built by `htmldiff` passes unchanged. Jinja2 is
imported on the first render rather than at import, so requests that end before a page
is rendered (JSON, text, raw values) do not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

TEMPLATES = Path(__file__).resolve().parent / "templates"

_environment: Optional[Any] = None


def environment():
    """Return the process-wide Jinja2 environment, creating it on first use."""
    global _environment
    if _environment is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined

        _environment = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates never change under a running process; skip the mtime checks.
            auto_reload=False,
        )
    return _environment


def render(name: str, **context: Any) -> str:
    """Render template `name` with `context`."""
    return environment().get_template(name).render(**context)
