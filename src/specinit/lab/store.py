"""The sweep store: one SQLite row per finished run, safe against a kill at any moment.

A sweep writes ``sweep.sqlite`` (stdlib :mod:`sqlite3`, WAL journal) with one row per run,
keyed by the hash of (experiment, resolved config, seed, specinit version, the code's
fingerprint and, for image experiments, the data folder; :func:`specinit.lab.sweep.plan`) under
a UNIQUE constraint.  A row is inserted in one transaction after its run has finished, so a killed
sweep keeps every run it recorded and never holds half a row; a run recorded as ``done`` is
never replaced, while a ``failed`` row is replaced when the run is tried again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from specinit._core.records import compact_repr

__all__ = ["RunRecord", "RunStore", "STORE_NAME"]

STORE_NAME = "sweep.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    experiment  TEXT NOT NULL,
    label       TEXT NOT NULL,
    point       TEXT NOT NULL,
    config      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    specinit    TEXT NOT NULL,
    torch       TEXT NOT NULL,
    python      TEXT NOT NULL,
    host        TEXT NOT NULL,
    environment TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    seconds     REAL NOT NULL,
    rows        TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    findings    TEXT NOT NULL,
    traceback   TEXT,
    folder      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_STATUSES = ("done", "failed")
_JSON_COLUMNS = ("point", "config", "environment", "rows", "metrics", "findings")


@dataclass(frozen=True)
class RunRecord:
    """One run of a sweep as stored: what ran, where, how long, and what it measured.

    ``point`` holds the overrides that vary across the sweep, ``config`` the resolved config
    (JSON), ``environment`` the versions and host (:func:`specinit.lab.results.environment`),
    ``rows`` the experiment's per-unit rows, ``traceback`` the error of a failed run.
    """

    key: str
    experiment: str
    label: str
    point: dict[str, Any]
    config: dict[str, Any]
    seed: int
    status: str
    environment: dict[str, str]
    started_at: str
    finished_at: str
    seconds: float
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    findings: list[dict[str, Any]]
    traceback: str | None
    folder: str

    __repr__ = compact_repr

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be 'done' or 'failed', got {self.status!r}")


_FIELDS = [f.name for f in fields(RunRecord)]
_ENV_COLUMNS = ("specinit", "torch", "python", "host")  # copied from the environment, for queries


class RunStore:
    """A sweep's SQLite store (``sweep.sqlite``): insert finished runs, list and read them.

    Open it as a context manager; every write is its own transaction.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def statuses(self) -> dict[str, str]:
        """Every recorded run's key and status (``done`` or ``failed``)."""
        return dict(self._db.execute("SELECT key, status FROM runs"))

    def add(self, record: RunRecord) -> bool:
        """Insert ``record`` atomically; replaces a ``failed`` row of the same key, never a ``done`` one.

        Returns whether the store changed (``False``: that run was already recorded as done).
        """
        values = {name: getattr(record, name) for name in _FIELDS}
        for name in _JSON_COLUMNS:
            values[name] = json.dumps(values[name])
        for column in _ENV_COLUMNS:
            values[column] = str(record.environment.get(column, "unknown"))
        columns = list(values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "key")
        sql = (
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT(key) DO UPDATE SET {updates} WHERE runs.status != 'done'"
        )
        with self._transaction():
            cursor = self._db.execute(sql, [values[c] for c in columns])
        return cursor.rowcount == 1

    def records(self, status: str | None = None) -> list[RunRecord]:
        """The stored runs in insertion order, optionally only those with ``status``."""
        sql = f"SELECT {', '.join(_FIELDS)} FROM runs"
        args: tuple[str, ...] = ()
        if status is not None:
            if status not in _STATUSES:
                raise ValueError(f"status must be one of {', '.join(_STATUSES)} or None, got {status!r}")
            sql += " WHERE status = ?"
            args = (status,)
        out = []
        for row in self._db.execute(sql + " ORDER BY id", args):
            values = dict(zip(_FIELDS, row, strict=True))
            for name in _JSON_COLUMNS:
                values[name] = json.loads(values[name])
            out.append(RunRecord(**values))
        return out

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def set_meta(self, **items: str) -> None:
        """Record facts about the sweep (its config text, command line, experiment)."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                list(items.items()),
            )

    def meta(self) -> dict[str, str]:
        """The facts recorded with :meth:`set_meta`, by name."""
        return dict(self._db.execute("SELECT name, value FROM meta"))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) on the autocommit connection."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
