"""Texters' data is kept for a set time, then deleted (DESIGN.md, Data protection).

Closed CIT requests go with their messages and text messages after
PORTAL_REQUEST_RETENTION_DAYS (the text line forgets its own records in
portal.sms.retention). Audit rows stay (at least a year).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal.database import utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.settings import Settings


def delete_old_texter_data() -> None:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    now = utcnow()
    old = select(CitRequest.id).where(
        CitRequest.status == "closed",
        CitRequest.closed_at < now - timedelta(days=settings.request_retention_days),
    )
    old_ids = list(db.session.scalars(old))
    if old_ids:
        db.session.execute(delete(OutboundMessage).where(OutboundMessage.cit_request_id.in_(old_ids)))
        db.session.execute(delete(CitRequest).where(CitRequest.id.in_(old_ids)))
    # Codes and reminders are not kept once they are no longer needed either.
    db.session.execute(
        delete(OutboundMessage).where(
            OutboundMessage.cit_request_id.is_(None), OutboundMessage.created_at < now - timedelta(days=30)
        )
    )
    db.session.commit()
