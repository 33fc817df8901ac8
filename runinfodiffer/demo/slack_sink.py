"""A Slack-compatible incoming-webhook endpoint on loopback that prints each message.

The demo points DifferBot at it, so a user sees the messages the crew would get in
Slack. It accepts `POST /hooks/<anything>` with a JSON payload and returns 200 "ok",
like Slack's incoming webhooks. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List, Optional

#: Characters of a message's text printed; the rest is summarised.
PRINT_LIMIT = 1200


class SlackSink:
    """An endpoint served by a thread; `messages` lists the payloads received."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, output: Optional[Callable[[str], None]] = None):
        self.messages: List[dict] = []
        self._output = output or (lambda text: print(text, flush=True))
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - name fixed by http.server
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    self._answer(400, b"invalid_payload")
                    return
                if not self.path.startswith("/hooks/") or not isinstance(payload, dict):
                    self._answer(404, b"no_service")
                    return
                sink.messages.append(payload)
                sink._output(format_message(len(sink.messages), payload))
                self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-sink", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/demo"

    def start(self) -> "SlackSink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def format_message(number: int, payload: dict) -> str:
    """Return a message as the demo prints it: a banner, then its text as Slack shows it."""
    text = str(payload.get("text", "")).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if len(text) > PRINT_LIMIT:
        hidden = text[PRINT_LIMIT:].count("\n") + 1
        text = text[:PRINT_LIMIT] + f"\n[... {hidden} more lines in this message]"
    banner = f"---- Slack message {number} " + "-" * 40
    return f"\n{banner}\n{text}\n{'-' * len(banner)}"
