"""GET /healthz: is this instance able to take requests?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
        database = True
    except SQLAlchemyError:
        database = False
    finally:
        db.session.rollback()
    body = {"database": database}
    return jsonify(body), 200 if database else 503
