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
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from email.utils import formatdate
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


def make_site(static_root: Path = CHECKOUT / "html", change_log: Optional[Path] = None) -> Callable:
    """Return a WSGI app that routes to the static files or to the application.

    The change log and its JSON twin, wherever the settings put them, are served under
    `STATIC_PREFIX` by their file names, as Apache serves them on hcalmon.
    """
    root = static_root.resolve()
    log_files = {}
    if change_log is not None:
        for target in (Path(change_log), Path(change_log).with_suffix(".json")):
            log_files[STATIC_PREFIX + target.name] = target

    def site(environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path in log_files:
            return _send_file(log_files[path], environ, start_response)
        if path in APP_PATHS:
            return application({**environ, "SCRIPT_NAME": path, "PATH_INFO": ""}, start_response)
        if path == "/" or path == STATIC_PREFIX.rstrip("/"):
            start_response("302 Found", [("Location", STATIC_PREFIX), ("Content-Length", "0")])
            return [b""]
        if path.startswith(STATIC_PREFIX):
            return _static(root, path[len(STATIC_PREFIX):], environ, start_response)
        return _not_found(start_response)

    return site


def _static(root: Path, relative: str, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """Serve a file under `root`; the path is normalised so it cannot leave `root`."""
    clean = posixpath.normpath("/" + unquote(relative)).lstrip("/") or "index.html"
    target = (root / clean).resolve()
    if target.is_dir():
        target = target / "index.html"
    if root not in target.parents:
        return _not_found(start_response)
    return _send_file(target, environ, start_response)


def _send_file(target: Path, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """Send a file with ETag and Last-Modified, or 304 Not Modified to a matching conditional GET."""
    try:
        status = target.stat()
        body = target.read_bytes()
    except OSError:
        return _not_found(start_response)
    etag = f'"{status.st_mtime_ns:x}-{status.st_size:x}"'
    modified = formatdate(status.st_mtime, usegmt=True)
    validators = [("ETag", etag), ("Last-Modified", modified)]
    if environ.get("HTTP_IF_NONE_MATCH") == etag or (
        "HTTP_IF_NONE_MATCH" not in environ and environ.get("HTTP_IF_MODIFIED_SINCE") == modified
    ):
        start_response("304 Not Modified", validators)
        return [b""]
    content_type = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *validators]
    start_response("200 OK", headers)
    return [body]


def _not_found(start_response: Callable) -> List[bytes]:
    body = b"not found\n"
    headers: List[Tuple[str, str]] = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response("404 Not Found", headers)
    return [body]


def serve(host: str = "127.0.0.1", port: int = 8000, change_log: Optional[Path] = None) -> None:
    """Serve the site, and the change log files when given, until interrupted."""
    site = make_site(change_log=change_log)
    with make_server(host, port, site, server_class=ThreadingWSGIServer, handler_class=QuietHandler) as server:
        log.info("serving http://%s:%d%sindex.html", host, server.server_port, STATIC_PREFIX)
        server.serve_forever()
