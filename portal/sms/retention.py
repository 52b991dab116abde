"""The text line forgets what it no longer needs (DESIGN.md, Data protection)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from portal.database import utcnow
from portal.extensions import db
from portal.sms.conversation import SILENCE
from portal.sms.models import Conversation, InboundMessage

# Twilio retries a webhook for minutes, not days: a day of MessageSids is plenty.
DELIVERY_MEMORY = timedelta(days=1)


def forget_old_texts() -> None:
    """Scheduled: delivery records after a day; conversations after their silence."""
    now = utcnow()
    db.session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - DELIVERY_MEMORY))
    db.session.execute(
        delete(Conversation).where(Conversation.last_message_at < now - SILENCE - timedelta(hours=1))
    )
    db.session.commit()
