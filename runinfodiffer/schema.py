"""The subset of the CMS RunInfo schema that RunInfoDiffer reads.

Production is the Oracle schema `CMS_RUNINFO`; the embedded sample database is SQLite
with the same tables and columns, so every query runs unchanged on both.
"""

PARAMETER_TABLE = "RUNSESSION_PARAMETER"
STRING_TABLE = "RUNSESSION_STRING"
DATE_TABLE = "RUNSESSION_DATE"

#: SQLite DDL of the sample database. Column types follow the Oracle originals:
#: NUMBER -> INTEGER, VARCHAR2 -> TEXT, CLOB -> TEXT, TIMESTAMP -> TEXT (ISO 8601).
SQLITE_DDL = f"""
CREATE TABLE IF NOT EXISTS {PARAMETER_TABLE} (
    ID INTEGER PRIMARY KEY,
    RUNNUMBER INTEGER NOT NULL,
    SESSION_ID INTEGER,
    NAME TEXT NOT NULL,
    STRING_VALUE TEXT,
    TIME TEXT
);
CREATE INDEX IF NOT EXISTS RSP_RUN_NAME ON {PARAMETER_TABLE} (RUNNUMBER, NAME);
CREATE INDEX IF NOT EXISTS RSP_NAME_RUN ON {PARAMETER_TABLE} (NAME, RUNNUMBER);
CREATE TABLE IF NOT EXISTS {STRING_TABLE} (
    RUNSESSION_PARAMETER_ID INTEGER NOT NULL,
    VALUE TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS RSS_PARAMETER ON {STRING_TABLE} (RUNSESSION_PARAMETER_ID);
CREATE TABLE IF NOT EXISTS {DATE_TABLE} (
    RUNSESSION_PARAMETER_ID INTEGER NOT NULL,
    VALUE TEXT
);
"""

#: Largest run number accepted as input. CMS run numbers have six digits; the bound
#: keeps a bound value inside SQLite's 64-bit and any 32-bit integer column.
MAX_RUN_NUMBER = 2**31 - 1

#: Level-0 and HCAL level-one names read next to the catalog's parameters.
RC_STATE = "CMS.LVL0:RC_STATE"
LVL0_HCAL = "CMS.LVL0:HCAL"
LEVEL1_FULLPATH = "CMS.HCAL_LEVEL_1:FM_FULLPATH"
LEVEL1_RUNKEY = "CMS.HCAL_LEVEL_1:LOCAL_RUNKEY_SELECTED"


def full_name(partition: str, parameter: str) -> str:
    """Return the RunInfo name, e.g. ``CMS.HCAL_HF:LOCAL_RUNKEY_SELECTED``."""
    return f"CMS.{partition}:{parameter}"
