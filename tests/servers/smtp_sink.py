"""A minimal SMTP server on 127.0.0.1 that stores each message it receives.

It speaks just enough SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)
for `smtplib.SMTP.send_message`, with no TLS or authentication.
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage
from typing import List


class SmtpSink:
    """Collects messages in `messages`; `reject_code` makes DATA fail with that code."""

    def __init__(self) -> None:
        self.messages: List[EmailMessage] = []
        self.envelopes: List[List[str]] = []
        self.reject_code = 0
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SmtpSink":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self):
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode("ascii"))

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                recipients: List[str] = []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    command = raw.decode("ascii", "replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        recipients = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        self._read_data(recipients)
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

            def _read_data(self, recipients: List[str]) -> None:
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                if sink.reject_code:
                    self.reply(f"{sink.reject_code} message rejected")
                    return
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                sink.messages.append(message)
                sink.envelopes.append(list(recipients))
                self.reply("250 OK queued")

        return Handler
