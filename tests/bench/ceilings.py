"""The two ceilings the portal is measured against, served by the same gunicorn
configuration: what bare Flask does with no portal code at all.

1. `page_app`: a small fixed page.
2. `webhook_app()`: the same Twilio signature check as /sms/inbound, then one row
   inserted with the portal's durability settings (SQLite: WAL, synchronous=FULL,
   BEGIN IMMEDIATE; PostgreSQL: its defaults) and a TwiML answer.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Call for the pin</title></head>'
    "<body><h1>Call for the pin</h1><p>In a mental health crisis, call 911 and ask for a CIT officer.</p>"
    "</body></html>"
)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Got it.</Message></Response>'
TABLE = "CREATE TABLE IF NOT EXISTS bench_texts (message_sid VARCHAR(64) PRIMARY KEY, sender TEXT, body TEXT)"

page_app = Flask("page_ceiling")


@page_app.get("/")
def page() -> Response:
    return Response(PAGE, mimetype="text/html")


def connect(database: str) -> Any:
    """A connection with the portal's settings: a SQLite path or a PostgreSQL URL."""
    if database.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(database)
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    for pragma in ("foreign_keys=ON", "secure_delete=ON", "journal_mode=WAL", "synchronous=FULL"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


def create_table(database: str) -> None:
    connection = connect(database)
    connection.execute(TABLE)
    connection.commit()
    connection.close()


def webhook_app() -> Flask:
    """Settings from the environment the portal reads: BENCH_CEILING_DATABASE holds
    the SQLite path or PostgreSQL URL."""
    app = Flask("webhook_ceiling")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    public_url = os.environ["PORTAL_PUBLIC_URL"].rstrip("/")
    database = os.environ["BENCH_CEILING_DATABASE"]
    sqlite = not database.startswith("postgresql://")
    held: list[Any] = []  # one connection per worker process, opened after the fork

    @app.get("/")
    def up() -> str:
        return "up"

    @app.post("/sms/inbound")
    def inbound() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(
            public_url + request.path, request.form.to_dict(), signature
        ):
            abort(403)
        if not held:
            held.append(connect(database))
        connection = held[0]
        row = (request.form["MessageSid"], request.form["From"], request.form["Body"])
        if sqlite:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO bench_texts VALUES (?, ?, ?)", row)
            connection.execute("COMMIT")
        else:
            connection.execute("INSERT INTO bench_texts VALUES (%s, %s, %s)", row)
            connection.commit()
        return Response(TWIML, mimetype="application/xml")

    return app
