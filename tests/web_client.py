"""An in-process WSGI client for the web interface tests: no server, no sockets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from runinfodiffer.web.app import application

SCRIPT = "/cgi-bin/RunInfoDiffer/viewDiffer.py"


@dataclass
class Result:
    status: int
    reason: str
    headers: List[tuple]
    raw: bytes

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")

    def header(self, name: str) -> Optional[str]:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[0] if values else None


def call(query: str = "", method: str = "GET", environ: Optional[Dict[str, object]] = None) -> Result:
    """Run one request through the application; `query` is the QUERY_STRING as WSGI passes it."""
    env: Dict[str, object] = {
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "SCRIPT_NAME": SCRIPT,
        "PATH_INFO": "",
        "SERVER_NAME": "hcalmon.test",
        "SERVER_PORT": "80",
        "HTTP_HOST": "hcalmon.test",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }
    env.update(environ or {})
    started: Dict[str, object] = {}

    def start_response(status: str, headers: List[tuple]) -> None:
        started["status"], started["headers"] = status, headers

    raw = b"".join(application(env, start_response))
    code, _, reason = str(started["status"]).partition(" ")
    return Result(int(code), reason, list(started["headers"]), raw)  # type: ignore[arg-type]


def summary_rows(page: str) -> List[tuple]:
    """Return (parameter, partitions) of each row of the truncated view's summary table."""
    table = page.split('id="changes-summary"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<td class="mono"><a href="#[^"]+">([^<]+)</a></td>\s*<td>([^<]*)</td>', table)
    return [(parameter, tuple(partitions.split(", "))) for parameter, partitions in rows]


def link_by_id(page: str, element_id: str) -> Optional[str]:
    """Return the unescaped href of the link with `element_id`, or None."""
    match = re.search(rf'<a id="{element_id}"[^>]* href="([^"]+)"', page)
    return match.group(1).replace("&amp;", "&") if match else None
