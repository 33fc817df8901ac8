"""The web interface: one WSGI application for CGI, mod_wsgi, gunicorn and `runinfodiffer serve`.

The application is `runinfodiffer.web.app.application`; this package imports nothing
at import time, so a CGI request pays only for the modules its view needs.
"""
