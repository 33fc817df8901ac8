#!/usr/bin/env python3
"""DifferBot: post each new RunInfoDiffer change-log entry to Slack or Mattermost.

Runs on a host without database access, e.g.:

    ssh -f -ND 1080 USER@cmsusr
    nohup python -u bot/DifferBot.py > BotLog.txt 2>&1 &

Settings come from the [bot] table of runinfodiffer.toml; see docs/bot.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runinfodiffer.notify.bot import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
