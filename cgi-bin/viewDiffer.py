#!/usr/bin/env python3
"""RunInfoDiffer's web interface as a CGI script: the WSGI app run by wsgiref's CGIHandler.

Apache passes settings through the environment (`SetEnv RUNINFODIFFER_CONFIG ...`).
Logs and tracebacks go to stderr, which Apache writes to its error log.
"""

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    from wsgiref.handlers import CGIHandler

    from runinfodiffer.web.app import application

    logging.basicConfig(level=logging.WARNING, format="RunInfoDiffer %(levelname)s %(name)s: %(message)s")
    CGIHandler().run(application)


if __name__ == "__main__":
    main()
