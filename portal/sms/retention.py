"""The text line forgets what it no longer needs (DESIGN.md, Data protection)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from portal.database import utcnow
from portal.extensions import db
from portal.sms.conversation import SILENCE
from portal.sms.models import Conversation, InboundMessage

# Twilio retries a webhook for minutes, not days: the reply given is kept a day. The
# MessageSid itself is kept as long as requests are, so that a captured signed webhook
# replayed later creates nothing.
REPLY_MEMORY = timedelta(days=1)


def forget_old_texts() -> None:
    """Scheduled: replies after a day, MessageSids after the retention period,
    conversations after their silence."""
    now = utcnow()
    retention = timedelta(days=current_app.config["PORTAL_SETTINGS"].request_retention_days)
    db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.received_at < now - REPLY_MEMORY, InboundMessage.reply.is_not(None))
        .values(reply=None)
    )
    db.session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - retention))
    db.session.execute(
        delete(Conversation).where(Conversation.last_message_at < now - SILENCE - timedelta(hours=1))
    )
    db.session.commit()
