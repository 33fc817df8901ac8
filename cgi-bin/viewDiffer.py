#!/usr/bin/env python3
"""RunInfoDiffer's web interface: a CGI script, and a WSGI script file for mod_wsgi.

Run as CGI, it serves the request through wsgiref's CGIHandler; logs and tracebacks
go to stderr, which Apache writes to its error log. mod_wsgi imports this file and
calls `application`. Either way Apache passes the settings file with
`SetEnv RUNINFODIFFER_CONFIG /path/to/runinfodiffer.toml`.
"""

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def application(environ, start_response):
    """Run the package's WSGI application, importing it on the first request."""
    from runinfodiffer.web.app import application as app

    return app(environ, start_response)


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    logging.basicConfig(level=logging.WARNING, format="RunInfoDiffer %(levelname)s %(name)s: %(message)s")
    CGIHandler().run(application)
