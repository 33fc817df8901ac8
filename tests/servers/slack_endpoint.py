"""A Slack-compatible endpoint on 127.0.0.1 that records payloads and plays scripted answers.

`POST /hooks/<secret>` behaves like an incoming webhook (200 "ok", or errors as plain
text); `POST /api/chat.postMessage` behaves like the Web API (JSON with "ok"). Each
request takes the next action from `script`, then `default`:

- "ok": 200 and the message counts as delivered
- "invalid_payload": 400 with that body
- "invalid_auth": 403 with that body (a revoked token)
- ("429", seconds): 429 with Retry-After
- "500": 500 server_error
- ("hang", seconds): read the request, then say nothing for that long
- ("slow", seconds): deliver, but wait that long before answering

A payload is recorded (with its arrival time) before the answer is sent, so a test
can tell "received" from "acknowledged".
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Optional, Tuple, Union

from .sockets import QuietHTTPServer, socket_owner_pid

Action = Union[str, Tuple[str, float]]


@dataclass
class Received:
    path: str
    payload: Dict[str, Any]
    action: str
    time: float
    headers: Dict[str, str] = field(default_factory=dict)
    client_pid: Optional[int] = None


class SlackEndpoint:
    """The fake endpoint, served from a thread; use as a context manager."""

    def __init__(self, secret: str = "T000/B000/secret-hook-token", track_owners: bool = False) -> None:
        self.secret = secret
        self.track_owners = track_owners
        self.script: List[Action] = []
        self.default: Action = "ok"
        self.received: List[Received] = []
        self.condition = threading.Condition()
        self.httpd = QuietHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{self.secret}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def delivered(self) -> List[Received]:
        """Requests answered (or being answered) with success, in arrival order."""
        with self.condition:
            return [r for r in self.received if r.action in ("ok", "slow")]

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Received]:
        """Wait until `count` messages were delivered; return them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while len([r for r in self.received if r.action in ("ok", "slow")]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.condition.wait(left)
        return self.delivered()

    def __enter__(self) -> "SlackEndpoint":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next_action(self) -> Tuple[str, float]:
        with self.condition:
            action = self.script.pop(0) if self.script else self.default
        if isinstance(action, tuple):
            return action[0], float(action[1])
        return action, 0.0

    def _handler_class(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                owner = socket_owner_pid(self.client_address[1]) if endpoint.track_owners else None
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                api = self.path.startswith("/api/")
                if not api and self.path != f"/hooks/{endpoint.secret}":
                    self._answer(404, b"no_service", "text/plain")
                    return
                try:
                    payload = json.loads(raw.decode("utf-8")) if raw else {}
                except ValueError:
                    payload = {"unparsed": raw.decode("utf-8", "replace")}
                action, seconds = endpoint._next_action()
                with endpoint.condition:
                    endpoint.received.append(Received(self.path, payload, action, time.time(),
                                                      dict(self.headers.items()), owner))
                    endpoint.condition.notify_all()
                self._play(action, seconds, api)

            def _play(self, action: str, seconds: float, api: bool) -> None:
                if action == "hang":
                    time.sleep(seconds)
                    self.close_connection = True
                    return
                if action == "slow":
                    time.sleep(seconds)
                if action in ("ok", "slow"):
                    body = b'{"ok": true, "ts": "1.000"}' if api else b"ok"
                    self._answer(200, body, "application/json" if api else "text/plain")
                elif action in ("invalid_payload", "invalid_auth"):
                    self._error(403 if action == "invalid_auth" else 400, action, api)
                elif action == "429":
                    self._error(429, "ratelimited", api, {"Retry-After": f"{seconds:g}"})
                elif action == "500":
                    self._error(500, "server_error", api)
                else:
                    raise ValueError(f"unknown endpoint action {action!r}")

            def _error(self, status: int, code: str, api: bool, headers: Optional[Dict[str, str]] = None) -> None:
                if api:
                    body = json.dumps({"ok": False, "error": code}).encode()
                    # The Web API reports most errors with HTTP 200 and "ok": false.
                    self._answer(status if status in (429, 500) else 200, body, "application/json", headers)
                else:
                    self._answer(status, code.encode(), "text/plain", headers)

            def _answer(self, status: int, body: bytes, content_type: str,
                        headers: Optional[Dict[str, str]] = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
