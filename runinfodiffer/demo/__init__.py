"""`make demo`: the whole system on the embedded sample RunInfo database.

`python -m runinfodiffer.demo` builds the sample database and a config under `var/`,
prints one diff from the command line, then runs the web interface, the poller,
DifferBot and a Slack-compatible endpoint that prints each message, while a replay
appends new runs of the sample sequence to the database every few seconds.
"""
