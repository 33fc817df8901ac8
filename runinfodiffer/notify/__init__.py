"""DifferBot: posts each new change-log entry to Slack, Mattermost or e-mail.

The bot runs on a host without database access. It reads the change log and each
entry's text diff from the web interface over HTTP, usually through an `ssh -D` SOCKS
tunnel. So this package imports only `runinfodiffer.changelog` and
`runinfodiffer.config` from the rest of the project, never the database reader or the
diff engine.
"""
