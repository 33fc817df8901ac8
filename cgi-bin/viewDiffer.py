#!/usr/bin/env python3
"""RunInfoDiffer's web interface: a CGI script (wsgiref's CGIHandler) and a mod_wsgi script file.

Logs and tracebacks go to stderr, which Apache writes to its error log. Apache passes
the settings file with `SetEnv RUNINFODIFFER_CONFIG /path/to/runinfodiffer.toml`.
"""

import gc
import os
import sys

if __name__ == "__main__":
    # A CGI process serves one request and exits, so the cycle collector would only
    # cost time: about 7 ms of each request, most of it during imports.
    gc.disable()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def application(environ, start_response):
    """Run the package's WSGI application, importing it on the first request."""
    from runinfodiffer.web.app import application as app

    return app(environ, start_response)


if __name__ == "__main__":
    import logging
    from wsgiref.handlers import CGIHandler

    logging.basicConfig(level=logging.WARNING, format="RunInfoDiffer %(levelname)s %(name)s: %(message)s")
    CGIHandler().run(application)

    # The response is written and the database closed. Skipping the interpreter's
    # teardown of every imported module saves about 15 ms of each request.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
