"""Database connections: SQLite for the embedded sample, Oracle for production.

Both speak DB-API with `:name` binds, so the reader sends the same SQL text to either.
The schema prefix (`CMS_RUNINFO` in production) qualifies every table name; on SQLite
the file is attached under that name so the qualified names resolve there too.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from .config import Config, DatabaseURL
from .errors import DatabaseUnavailable

log = logging.getLogger(__name__)

#: Seconds SQLite waits for a writer's lock before the query fails as unavailable.
SQLITE_BUSY_TIMEOUT = 2.0
#: Seconds python-oracledb waits for the TCP connection to the listener.
ORACLE_CONNECT_TIMEOUT = 10.0


class Database:
    """One open connection with a count of the statements it executed."""

    def __init__(self, connection: Any, schema: str, url: DatabaseURL, errors: Tuple[type, ...]):
        self._connection = connection
        self._errors = errors
        self.schema = schema
        self.url = url
        #: Statements executed so far; tests and `make bench` read it.
        self.statements = 0

    def table(self, name: str) -> str:
        """Return `name` qualified with the schema prefix, when one is set."""
        return f"{self.schema}.{name}" if self.schema else name

    def query(self, sql: str, binds: Optional[Dict[str, Any]] = None) -> List[Sequence[Any]]:
        """Execute one statement and return all rows; CLOB values arrive as `str`.

        Raises DatabaseUnavailable, with the driver's message, when the statement fails.
        """
        self.statements += 1
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql, binds or {})
            return cursor.fetchall()
        except self._errors as error:
            raise DatabaseUnavailable(f"query on {self.url} failed: {_describe(error)}") from error
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    if "no such table" in text or "ORA-00942" in text:
        text += " (is this a RunInfo database with the configured schema prefix? 'runinfodiffer check-db' checks it)"
    return text


def connect(config: Config, url: Optional[DatabaseURL] = None) -> Database:
    """Open the configured database (or `url`); raise DatabaseUnavailable on failure."""
    url = url or config.database_url
    if url.kind == "sqlite":
        return _connect_sqlite(url, config.schema)
    return _connect_oracle(url, config)


def _connect_sqlite(url: DatabaseURL, schema: str) -> Database:
    path = Path(url.path or "")
    if not path.is_file():
        raise DatabaseUnavailable(
            f"database file not found: {path} (build the sample with 'runinfodiffer sample-db {path}')"
        )
    # Read-only: the web interface runs as www-data, which may not write the folder.
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        if schema:
            connection = sqlite3.connect("file::memory:", uri=True, timeout=SQLITE_BUSY_TIMEOUT)
            connection.execute(f'ATTACH DATABASE ? AS "{schema}"', (uri,))
        else:
            connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT)
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot open {url}: {error}") from error
    return Database(connection, schema, url, (sqlite3.Error,))


def _connect_oracle(url: DatabaseURL, config: Config) -> Database:
    import oracledb  # imported here: production only, and ~40 ms per CGI request

    # Thin mode needs no Oracle client. LOB handles die with the connection, so
    # CLOBs are fetched as str directly.
    oracledb.defaults.fetch_lobs = False
    password = config.read_password()
    dsn = f"{url.host}:{url.port}/{url.service}"
    try:
        connection = oracledb.connect(
            user=url.user, password=password, dsn=dsn, tcp_connect_timeout=ORACLE_CONNECT_TIMEOUT
        )
    except oracledb.Error as error:
        raise DatabaseUnavailable(f"cannot connect to {url}: {error}") from error
    log.debug("connected to %s", url)
    return Database(connection, config.schema, url, (oracledb.Error,))
