"""The WSGI application: routing, error pages and the response on the wire.

One callable serves CGI (through `wsgiref.handlers.CGIHandler`), mod_wsgi, gunicorn
and `runinfodiffer serve`. Routing uses the query only, so the established URLs keep
working: no `page` and no run numbers is the form; `runnumber1`/`runnumber2` is a diff;
`view=raw` is one stored value; `page=changes|runs|status|history` are the other pages.

Errors meant for users (RunInfoDifferError) get their HTTP status and message: 400
for invalid input, 404 for unknown runs, 503 when the database is unreachable. Any
other exception is logged with its traceback to stderr (the web server's error log)
and gets a plain 500 page, so no traceback reaches the browser.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..errors import RunInfoDifferError, UsageError
from .context import HTML, Request, Response, Services
from .forms import PAGES, first

log = logging.getLogger(__name__)

StartResponse = Callable[[str, List[Tuple[str, str]]], Any]

#: The pages run no script and load nothing: styles are inline, forms GET this app.
#: Configuration values are XML and may contain markup, so a value that escaping missed
#: could still run nothing. nosniff keeps browsers from reading raw values as HTML.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def application(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Handle one request; any Exception becomes an error page rather than propagating."""
    request: Optional[Request] = None
    services = Services(environ.get("RUNINFODIFFER_CONFIG") or None)
    try:
        request = Request(environ)
        response = dispatch(request, services)
    except RunInfoDifferError as error:
        response = _error_response(request, services, error.http_status, str(error), environ)
        level = logging.WARNING if error.http_status >= 500 else logging.INFO
        log.log(level, "HTTP %d for %s: %s", error.http_status, _describe(environ), error)
    except Exception:
        log.exception("HTTP 500 for %s: unexpected error", _describe(environ))
        message = "Internal error: the request failed unexpectedly. The details are in the web server's error log."
        response = _error_response(request, services, 500, message, environ)
    finally:
        try:
            services.close()
        except Exception:
            log.exception("closing the database connection failed")
    return _send(response, environ, start_response)


def dispatch(request: Request, services: Services) -> Response:
    """Route the request to its view."""
    if request.method not in ("GET", "HEAD"):
        response = Response(405, _plain_page(405, f"method {request.method} not allowed: use GET"))
        response.headers.append(("Allow", "GET, HEAD"))
        return response

    page = first(request.params, "page")
    if page:
        if page not in PAGES:
            raise UsageError(f"unknown page {page!r}: use one of {', '.join(PAGES)}")
        if page == "history":
            from .history import history

            return history(request, services)
        from . import pages

        return getattr(pages, page)(request, services)

    from . import views

    if first(request.params, "view") == "raw":
        return views.raw(request, services)
    if any(name in request.params for name in ("runnumber1", "runnumber2")):
        return views.diff(request, services)
    return views.home(request, services)


def _error_response(request: Optional[Request], services: Services, status: int, message: str,
                    environ: Dict[str, Any]) -> Response:
    """Return the error page: HTML with the form, or plain text when that format was requested."""
    try:
        request = request or Request({**environ, "QUERY_STRING": ""})
        if first(request.params, "format") in ("text", "json") or first(request.params, "view") == "raw":
            from .context import TEXT

            return Response(status, f"error: {message}\n", TEXT)
        from .views import error_page

        return Response(status, error_page(request, services, status, message))
    except Exception:
        log.exception("building the error response failed")
        return Response(status, _plain_page(status, message))


def _plain_page(status: int, message: str) -> str:
    from .views import plain_error_page

    return plain_error_page(status, message)


def _send(response: Response, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Encode the body, set Content-Type and Content-Length, and start the response."""
    body = response.body.encode("utf-8")
    headers = [("Content-Type", response.content_type), ("Content-Length", str(len(body))),
               ("X-Content-Type-Options", "nosniff")]
    if response.content_type == HTML:
        headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
    headers.extend(response.headers)
    if response.status >= 400 or response.content_type == HTML:
        headers.append(("Cache-Control", "no-store"))
    # PEP 3333 allows only latin-1 in headers; every value here is ASCII by construction.
    headers = [(name, value.encode("ascii", "replace").decode("ascii")) for name, value in headers]
    start_response(_status_line(response.status), headers)
    if environ.get("REQUEST_METHOD", "GET").upper() == "HEAD":
        return [b""]
    return [body]


#: Reason phrases (RFC 9110) of the statuses the app sends. A table rather than
#: http.HTTPStatus, whose enum of about 60 members every CGI request would build.
_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Error')}"


def _describe(environ: Dict[str, Any]) -> str:
    """Return the request for log lines: method, script and query."""
    query = environ.get("QUERY_STRING", "")
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('SCRIPT_NAME', '')}{'?' + query if query else ''}"
