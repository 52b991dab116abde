"""Texters' data is kept for a set time, then deleted (DESIGN.md, Data protection).

Closed CIT requests go with their messages and text messages after
PORTAL_REQUEST_RETENTION_DAYS; the delivery records that de-duplicate webhooks after a
day; conversations after their 30 minutes of silence. Audit rows stay (at least a year).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal.database import utcnow
from portal.dispatch.models import CitRequest
from portal.dispatch.outbox import OutboundMessage
from portal.extensions import db
from portal.settings import Settings
from portal.sms.conversation import SILENCE
from portal.sms.models import Conversation, InboundMessage

# Twilio retries a webhook for minutes, not days: a day of MessageSids is plenty.
DELIVERY_MEMORY = timedelta(days=1)


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
        db.session.execute(delete(Conversation).where(Conversation.cit_request_id.in_(old_ids)))
        db.session.execute(delete(CitRequest).where(CitRequest.id.in_(old_ids)))
    # Codes and reminders are not kept once they are no longer needed either.
    db.session.execute(
        delete(OutboundMessage).where(
            OutboundMessage.cit_request_id.is_(None), OutboundMessage.created_at < now - timedelta(days=30)
        )
    )
    db.session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - DELIVERY_MEMORY))
    db.session.execute(
        delete(Conversation).where(Conversation.last_message_at < now - SILENCE - timedelta(hours=1))
    )
    db.session.commit()
