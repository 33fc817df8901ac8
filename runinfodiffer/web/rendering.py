"""The Jinja2 environment of the web interface.

Autoescaping is on for every template, the Atom feed included, so any value printed
with ``{{ }}`` is escaped; only `Markup` built by `htmldiff` passes unchanged. Jinja2 is
imported on the first render rather than at import, so requests that end before a page
is rendered (JSON, text, raw values) do not pay for it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

log = logging.getLogger(__name__)

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
            bytecode_cache=_bytecode_cache(),
        )
    return _environment


def _bytecode_cache():
    """Return Jinja2's file cache of compiled templates, or None when it cannot be used.

    Every CGI request is a new process, so without the cache each request compiles the
    templates it renders again. The cache lives in a private folder per user under the
    temporary folder (`/tmp/_jinja2-cache-UID`, mode 0700), which www-data may create.
    Entries are keyed by template name and source checksum, so an edited template is
    compiled again.
    """
    from jinja2 import FileSystemBytecodeCache

    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError) as error:
        log.warning("template cache disabled, templates are compiled on every request: %s", error)
        return None


def render(name: str, **context: Any) -> str:
    """Render template `name` with `context`."""
    return environment().get_template(name).render(**context)
