"""Request, response and the per-request services (settings, catalog, database).

Everything here is cheap to import: a CGI request is a new process, so settings,
catalog and database connection are loaded only when a view needs them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from .forms import Params, parse_query

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


class Request:
    """The parts of a WSGI environ that the views read."""

    def __init__(self, environ: Dict[str, Any]):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.params: Params = parse_query(environ.get("QUERY_STRING", ""))
        #: Path of the application itself, e.g. ``/cgi-bin/RunInfoDiffer/viewDiffer.py``.
        self.script = environ.get("SCRIPT_NAME", "") or "/"

    def url(self, **params: Any) -> str:
        """Return a path to this application with `params` as query (lists repeat; None is left out)."""
        query = urlencode([(k, v) for k, v in _flatten(params)])
        return f"{self.script}?{query}" if query else self.script

    def absolute_url(self, **params: Any) -> str:
        """Return `url(**params)` with scheme and host, for feeds and plain-text links."""
        from wsgiref.util import application_uri

        base = application_uri(self.environ)
        query = urlencode([(k, v) for k, v in _flatten(params)])
        return f"{base}?{query}" if query else base


def _flatten(params: Dict[str, Any]) -> List[Tuple[str, str]]:
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, str(item)))
    return pairs


class Response:
    """A complete response; `body` is text encoded as UTF-8 on the way out."""

    # Plain classes rather than dataclasses in the web modules: each @dataclass runs
    # generated code at import, a cost every CGI request pays.
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int, body: str, content_type: str = HTML,
                 headers: Optional[List[Tuple[str, str]]] = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers if headers is not None else []


class Services:
    """Settings, catalog and database of one request, each loaded on first use.

    `config_path` is the settings file named in the request's environ, where mod_wsgi
    puts Apache's `SetEnv RUNINFODIFFER_CONFIG`; None falls back to `load_config`'s
    search (the process environment, then the checkout).
    """

    def __init__(self, config_path: Optional[str] = None) -> None:
        self._config_path = config_path
        self._config = None
        self._catalog = None
        self._database = None
        self._reader = None

    @property
    def config(self):
        if self._config is None:
            from ..config import load_config

            self._config = load_config(self._config_path)
        return self._config

    @property
    def catalog(self):
        if self._catalog is None:
            from ..catalog import load_catalog

            self._catalog = load_catalog(self.config.parameter_file)
        return self._catalog

    def partitions_or_none(self) -> Optional[List[str]]:
        """Return the catalog's partitions, or None when settings or catalog cannot be read."""
        try:
            return self.catalog.partitions
        except Exception:  # an error page must render even when the catalog is broken
            return None

    @property
    def reader(self):
        """The RunInfoReader on a connection opened for this request."""
        if self._reader is None:
            from ..db import connect
            from ..runinfo import RunInfoReader

            self._database = connect(self.config)
            self._reader = RunInfoReader(self._database, self.catalog)
        return self._reader

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None
            self._reader = None
