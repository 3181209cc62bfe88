"""Only for ``bench/intake_http.py``: triage's WSGI app with a plain-storage endpoint mounted
beside it, in the same gunicorn workers. ``/plain/reports`` stores the body it is sent (JSON, or
a form as JSON) in a table of its own — in SQLite (``BENCH_PLAIN_DB``: same WAL mode, same
``synchronous``) or, with ``BENCH_PLAIN_URL``, in PostgreSQL (psycopg, the same driver), one kept
connection per worker thread — with no validation, sealing, screening or audit: the cost of a
web endpoint that only stores, the baseline intake is measured against.

    gunicorn -w 2 bench._plain_wsgi:app     # with TRIAGE_* and BENCH_PLAIN_DB or _URL set
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from triage import create_app

plain = Flask("plain")
_local = threading.local()


def _pg() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        import psycopg

        conn = psycopg.connect(os.environ["BENCH_PLAIN_URL"], autocommit=True)
        _local.conn = conn  # its table is made by the bench, before the workers start
    return conn


def _db() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["BENCH_PLAIN_DB"], isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 15000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS report (id TEXT PRIMARY KEY, body TEXT, received_at TEXT)"
        )
        _local.conn = conn
    return conn


@plain.post("/reports")
def store() -> ResponseReturnValue:
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict(flat=False)
    report_id = str(uuid.uuid4())
    row = (report_id, json.dumps(body), datetime.now(UTC).isoformat())
    if os.environ.get("BENCH_PLAIN_URL"):
        with _pg().transaction():
            _pg().execute("INSERT INTO report VALUES (%s, %s, %s)", row)
        return jsonify({"id": report_id}), 201
    conn = _db()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO report VALUES (?, ?, ?)", row)
    conn.execute("COMMIT")
    return jsonify({"id": report_id}), 201


app = DispatcherMiddleware(create_app(), {"/plain": plain})
