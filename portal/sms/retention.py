"""The text line forgets what it no longer needs (DESIGN.md, Data protection).

Safe to run twice and from several workers at once: each step is one UPDATE or DELETE
whose condition no longer holds once done.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, update

from portal.database import rows_changed, utcnow
from portal.extensions import db
from portal.sms.conversation import SILENCE
from portal.sms.models import Conversation, InboundMessage

# Twilio retries a webhook for minutes, not days: the reply given is kept a day. The
# MessageSid itself is kept as long as requests are, so that a captured signed webhook
# replayed later creates nothing.
REPLY_MEMORY = timedelta(days=1)
# A conversation is over after SILENCE; deleted an hour later, so that the job never
# races a texter who answers at the 30th minute. A request still open makes its
# conversation again (current_conversation).
CONVERSATION_MEMORY = SILENCE + timedelta(hours=1)


def forget_old_texts(now: datetime | None = None) -> int:
    """Scheduled: replies after a day, MessageSids after the retention period,
    idle conversations (with the texter's number) after their silence. Returns how
    many rows changed."""
    now = now or utcnow()
    retention = timedelta(days=current_app.config["PORTAL_SETTINGS"].request_retention_days)
    changed = rows_changed(
        db.session,
        update(InboundMessage)
        .where(InboundMessage.received_at < now - REPLY_MEMORY, InboundMessage.reply.is_not(None))
        .values(reply=None),
    )
    changed += rows_changed(
        db.session, delete(InboundMessage).where(InboundMessage.received_at < now - retention)
    )
    changed += rows_changed(
        db.session, delete(Conversation).where(Conversation.last_message_at < now - CONVERSATION_MEMORY)
    )
    db.session.commit()
    return changed
