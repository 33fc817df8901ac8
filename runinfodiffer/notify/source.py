"""Reading the change log and the text diffs from the web interface over HTTP.

All requests go through the configured proxy, usually SOCKS (`ssh -D` to the CMS network);
`socks5h://` lets the far end resolve host names that only exist there. The proxy
applies to these requests only, never to the connection to Slack. Environment proxy
variables are ignored here, so the `proxy` setting alone decides the route.
"""

from __future__ import annotations

import logging
from typing import Dict, List
from urllib.parse import urljoin, urlsplit

import requests

from ..changelog import Entry, parse_html, parse_json

log = logging.getLogger(__name__)


class SourceError(Exception):
    """The change log or a diff could not be fetched or parsed; retry next cycle."""


class DiffGone(SourceError):
    """The web interface returned 404 or 410 for a diff, so retrying will not help."""


class ChangeLogSource:
    """Fetches the change log with conditional GET and caches the parsed entries.

    An unchanged log costs one request and a 304 Not Modified response, because the
    ETag and Last-Modified values of the last 200 response are sent back.
    """

    def __init__(self, url: str, proxy: str = "", connect_timeout: float = 5.0,
                 read_timeout: float = 20.0) -> None:
        self.url = url
        self.proxy = proxy
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = "RunInfoDiffer-DifferBot"
        if proxy:
            self.session.proxies = {"http": proxy, "https": proxy}
        self._validators: Dict[str, str] = {}
        self._entries: List[Entry] = []
        self.not_modified = 0

    def entries(self) -> List[Entry]:
        """Return all entries of the log, oldest first; raise SourceError when unreachable."""
        headers = {}
        if "ETag" in self._validators:
            headers["If-None-Match"] = self._validators["ETag"]
        if "Last-Modified" in self._validators:
            headers["If-Modified-Since"] = self._validators["Last-Modified"]

        response = self._get(self.url, headers)
        if response.status_code == 304:
            self.not_modified += 1
            return list(self._entries)
        if response.status_code != 200:
            raise SourceError(f"change log {self.url}: HTTP {response.status_code} {response.reason}")

        response.encoding = response.encoding or "utf-8"
        try:
            entries = self._parse(response.text)
        except (ValueError, KeyError, TypeError) as error:
            raise SourceError(f"change log {self.url} is not a RunInfoDiffer change log: {error}") from None
        entries.sort(key=lambda entry: entry.id)

        self._entries = entries
        self._validators = {name: response.headers[name] for name in ("ETag", "Last-Modified")
                            if name in response.headers}
        return list(entries)

    def _parse(self, text: str) -> List[Entry]:
        if self.url.split("?", 1)[0].endswith(".json"):
            return parse_json(text)
        # An error or login page would parse as a log without entries, and a first start
        # would then take every later entry as new.
        if 'class="changelog"' not in text:
            raise ValueError("no <ol class=\"changelog\"> element")
        return parse_html(text)

    def diff_text(self, url: str) -> str:
        """Return the plain-text diff at `url` (relative URLs are taken relative to the log)."""
        absolute = urljoin(self.url, url)
        response = self._get(absolute, {"Accept": "text/plain"})
        if response.status_code in (404, 410):
            raise DiffGone(f"diff {absolute}: HTTP {response.status_code} {response.reason}")
        if response.status_code != 200:
            raise SourceError(f"diff {absolute}: HTTP {response.status_code} {response.reason}")
        response.encoding = response.encoding or "utf-8"
        return response.text

    def _get(self, url: str, headers: Dict[str, str]) -> requests.Response:
        try:
            return self.session.get(url, headers=headers, timeout=self.timeout, allow_redirects=True)
        except requests.exceptions.RequestException as error:
            raise SourceError(f"cannot fetch {url}: {describe_request_error(error, self.proxy)}") from None

    def close(self) -> None:
        self.session.close()


def describe_request_error(error: requests.exceptions.RequestException, proxy: str = "") -> str:
    """Return a one-line reason for a failed request, naming the likely cause.

    `proxy` is the proxy URL the request went through ("" for none). A proxy failure
    is described by its scheme: a SOCKS proxy is usually the `ssh -D` tunnel.
    """
    is_socks = proxy.lower().startswith("socks")

    if isinstance(error, requests.exceptions.ProxyError) or "SOCKS" in str(error):
        if is_socks or not proxy:
            return f"SOCKS proxy failed (is the ssh -D tunnel up?): {_innermost(error)}"
        return f"HTTP proxy {_proxy_address(proxy)} failed (is it running?): {_innermost(error)}"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "read timed out"
    if isinstance(error, requests.exceptions.ConnectionError):
        return f"connection failed: {_innermost(error)}"
    return str(error)


def _proxy_address(proxy: str) -> str:
    """Return the host:port of a proxy URL, leaving out any user name and password."""
    parts = urlsplit(proxy)
    if parts.hostname is None:
        return "(unknown address)"
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def _innermost(error: BaseException) -> str:
    """Return the message of the deepest chained exception, cut to 300 characters."""
    reason: BaseException = error
    while reason.__cause__ is not None or reason.__context__ is not None:
        reason = reason.__cause__ or reason.__context__  # type: ignore[assignment]
    return str(reason)[:300]
