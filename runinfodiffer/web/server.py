"""`runinfodiffer serve`: the web interface in one process, for demos and development.

The URL layout is the one Apache uses on hcalmon, so `html/index.html` and its
relative links work unchanged:

* ``/RunInfoDiffer/`` serves the files of `html/` (``/`` redirects there);
* ``/cgi-bin/RunInfoDiffer/viewDiffer.py`` runs the WSGI application;
* ``/cgi-bin/viewDiffer.py`` runs it too, the default `web_base_url` setting.

wsgiref's server handles one request per thread. It is meant for loopback use and a
few users; production runs the CGI script under Apache, or the app under mod_wsgi or
gunicorn (see docs/web.md).
"""

from __future__ import annotations

import logging
import mimetypes
import posixpath
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Callable, Dict, Iterable, List, Tuple
from urllib.parse import unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..config import CHECKOUT
from .app import application

log = logging.getLogger(__name__)

STATIC_PREFIX = "/RunInfoDiffer/"
APP_PATHS = ("/cgi-bin/RunInfoDiffer/viewDiffer.py", "/cgi-bin/viewDiffer.py")


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server with one thread per request."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    """Logs requests through `logging` instead of printing them to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by the base class
        log.info("%s %s", self.address_string(), format % args)


def make_site(static_root: Path = CHECKOUT / "html") -> Callable:
    """Return a WSGI app that routes to the static files or to the application."""
    root = static_root.resolve()

    def site(environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path in APP_PATHS:
            return application({**environ, "SCRIPT_NAME": path, "PATH_INFO": ""}, start_response)
        if path == "/" or path == STATIC_PREFIX.rstrip("/"):
            start_response("302 Found", [("Location", STATIC_PREFIX), ("Content-Length", "0")])
            return [b""]
        if path.startswith(STATIC_PREFIX):
            return _static(root, path[len(STATIC_PREFIX):], start_response)
        return _not_found(start_response)

    return site


def _static(root: Path, relative: str, start_response: Callable) -> Iterable[bytes]:
    """Serve a file under `root`; the path is normalised so it cannot leave `root`."""
    clean = posixpath.normpath("/" + unquote(relative)).lstrip("/") or "index.html"
    target = (root / clean).resolve()
    if target.is_dir():
        target = target / "index.html"
    if root not in target.parents or not target.is_file():
        return _not_found(start_response)
    body = target.read_bytes()
    content_type = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _not_found(start_response: Callable) -> List[bytes]:
    body = b"not found\n"
    headers: List[Tuple[str, str]] = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response("404 Not Found", headers)
    return [body]


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the site until interrupted."""
    with make_server(host, port, make_site(), server_class=ThreadingWSGIServer, handler_class=QuietHandler) as server:
        log.info("serving http://%s:%d%sindex.html", host, server.server_port, STATIC_PREFIX)
        server.serve_forever()
