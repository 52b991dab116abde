"""Texters' data is kept for a set time, then deleted (DESIGN.md, Data protection).

Closed CIT requests go with their messages and text messages after
PORTAL_REQUEST_RETENTION_DAYS (the text line forgets its own records in
portal.sms.retention). Audit rows stay longer (portal.audit.RETENTION).
Safe to run twice and from several workers at once: each step is one DELETE.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal.database import rows_changed, utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.settings import Settings

# Codes, reminders and other texts about no request: kept a month for a question about
# a delivery, then deleted.
NOTICE_MEMORY = timedelta(days=30)


def delete_old_texter_data(now: datetime | None = None) -> int:
    """Scheduled: returns how many requests and messages were deleted."""
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    now = now or utcnow()
    old = select(CitRequest.id).where(
        CitRequest.status == "closed",
        CitRequest.closed_at < now - timedelta(days=settings.request_retention_days),
    )
    old_ids = list(db.session.scalars(old))
    deleted = 0
    if old_ids:
        deleted += rows_changed(
            db.session, delete(OutboundMessage).where(OutboundMessage.cit_request_id.in_(old_ids))
        )
        # Their threads (request_messages) go with them: ON DELETE CASCADE.
        deleted += rows_changed(db.session, delete(CitRequest).where(CitRequest.id.in_(old_ids)))
    deleted += rows_changed(
        db.session,
        delete(OutboundMessage).where(
            OutboundMessage.cit_request_id.is_(None), OutboundMessage.created_at < now - NOTICE_MEMORY
        ),
    )
    db.session.commit()
    return deleted
