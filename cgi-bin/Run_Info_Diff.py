#!/usr/bin/env python3
"""RunInfoDiffer's established entry point.

    Run_Info_Diff.py remote_run RUN1 RUN2 [PARTITION ...]   print one diff
    Run_Info_Diff.py local_run [--once]                     run the poller

Exit status: 0 no differences, 1 differences, 2 trouble.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runinfodiffer.cli import run_info_diff_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_info_diff_main())
