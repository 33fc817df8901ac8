"""A static web server on 127.0.0.1 with ETag and Last-Modified, answering 304 like Apache.

It stands in for the web interface in bot tests: it serves `BotUrlLog.html`,
`BotUrlLog.json` and text diffs from a folder, records every request, and can be told
to fail with a status code.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import List, Optional
from urllib.parse import unquote, urlsplit

from .sockets import QuietHTTPServer, socket_owner_pid


@dataclass
class Request:
    path: str
    status: int
    #: Pid of the process that opened the client socket (when owner tracking is on).
    client_pid: Optional[int]


class StaticWebServer:
    """Serves `root` on 127.0.0.1:`port` (0 picks a free port) in a thread."""

    def __init__(self, root: Path, track_owners: bool = False) -> None:
        self.root = Path(root)
        self.track_owners = track_owners
        self.requests: List[Request] = []
        #: When set, every request for a path under `fail_prefix` gets this status.
        self.fail_status: Optional[int] = None
        self.fail_prefix = "/"
        self._lock = threading.Lock()
        self.httpd = QuietHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> "StaticWebServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def statuses(self, path: str) -> List[int]:
        with self._lock:
            return [r.status for r in self.requests if r.path == path]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner = socket_owner_pid(self.client_address[1]) if server.track_owners else None
                path = unquote(urlsplit(self.path).path)
                status, body, headers = self._respond(path)
                server._record(Request(path, status, owner))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _respond(self, path: str):
                if server.fail_status is not None and path.startswith(server.fail_prefix):
                    return server.fail_status, b"", {}
                file = (server.root / path.lstrip("/")).resolve()
                if server.root.resolve() not in file.parents or not file.is_file():
                    return 404, b"not found\n", {"Content-Type": "text/plain"}
                content = file.read_bytes()
                etag = '"' + hashlib.sha1(content).hexdigest()[:16] + '"'
                modified = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
                headers = {"ETag": etag, "Last-Modified": modified, "Content-Type": _content_type(file)}
                match = self.headers.get("If-None-Match")
                since = self.headers.get("If-Modified-Since")
                if match is not None:
                    if etag in [tag.strip() for tag in match.split(",")]:
                        return 304, b"", headers
                elif since is not None and since == modified:
                    return 304, b"", headers
                return 200, content, headers

        return Handler


def _content_type(path: Path) -> str:
    if path.suffix == ".html":
        return "text/html; charset=utf-8"
    if path.suffix == ".json":
        return "application/json"
    return "text/plain; charset=utf-8"
