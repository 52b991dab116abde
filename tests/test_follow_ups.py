"""Follow-ups after a crisis (issue 16): created when a request linked to a plan with the
person's consent closes, due PORTAL_FOLLOW_UP_DAYS days later, one a request, recorded
once, listed oldest due first, and missed when not made by the end of the day due on the
agency's clock (St. Louis: CST, UTC-6 in November; CDT, UTC-5, until 2 AM on 1 November
2026). Every rule on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.dispatch import requests
from portal.dispatch.follow_ups import (
    FOLLOW_UP_OUTCOMES,
    FollowUp,
    open_follow_ups,
    record_follow_up,
    schedule_follow_up,
)
from portal.dispatch.handoffs import Partner, register_partners
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.plans.models import CrisisPlan
from portal.plans.services import file_plan
from portal.settings import SettingsError, load
from tests.conftest import make_environ


@pytest.fixture
def app_context(any_database_app: Flask) -> Iterator[Flask]:
    with any_database_app.app_context():
        register_partners()
        db.session.commit()
        yield any_database_app


def plan(*, consent: bool) -> CrisisPlan:
    filed = file_plan(
        {"person": {"name": "Hidden Person"}},
        name="Hidden Person",
        born=date(1990, 1, 1),
        language="en",
        cit_requested=True,
        filed_by="self",
        phones=[],
    )
    filed.follow_up_consent = consent
    db.session.flush()
    return filed


def request_for(linked: CrisisPlan | None) -> CitRequest:
    request = CitRequest(
        source="sms",
        callback_number="+13145550177",
        language="en",
        location="4500 Hidden Street",
        location_source="texted",
        plan_id=linked.id if linked else None,
        plan_reference=linked.reference if linked else None,
        status="acknowledged",
        acknowledged_at=datetime.now(UTC),
    )
    db.session.add(request)
    db.session.flush()
    return request


def close(request: CitRequest) -> None:
    requests.close(
        request, disposition="co_responder", cad_number=None, tell_texter=False, by="dee@example.org"
    )
    db.session.commit()


def follow_ups_of(request: CitRequest) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).where(FollowUp.cit_request_id == request.id)))


def peer_partner() -> Partner:
    # agency.toml's [[handoff_partners]] with role follow_up.
    return db.session.scalars(select(Partner).where(Partner.key == "peer-follow-up")).one()


def test_closing_a_request_with_consent_makes_one_follow_up_due_two_days_later(app_context: Flask) -> None:
    request = request_for(plan(consent=True))
    close(request)
    [follow_up] = follow_ups_of(request)
    assert follow_up.partner_id == peer_partner().id
    assert request.closed_at is not None
    assert follow_up.due_at == request.closed_at + timedelta(days=2)  # the default: 2 days
    assert follow_up.done_at is None and follow_up.outcome is None

    # Closing again is refused, and scheduling again (a second caller) adds nothing.
    with pytest.raises(requests.RequestClosed):
        close(request)
    assert schedule_follow_up(request) is None
    db.session.commit()
    assert len(follow_ups_of(request)) == 1


def test_no_follow_up_without_consent_a_plan_or_a_peer_partner(app_context: Flask) -> None:
    without_consent = request_for(plan(consent=False))
    close(without_consent)
    assert follow_ups_of(without_consent) == []

    without_plan = request_for(None)
    close(without_plan)
    assert follow_ups_of(without_plan) == []

    # The peer-support partner taken out of agency.toml: inactive, offered nothing.
    peer_partner().active = False
    db.session.commit()
    with_consent = request_for(plan(consent=True))
    close(with_consent)
    assert follow_ups_of(with_consent) == []
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_the_setting_moves_the_due_date_and_takes_1_to_3_days(tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, PORTAL_FOLLOW_UP_DAYS="3"))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        register_partners()
        request = request_for(plan(consent=True))
        close(request)
        [follow_up] = follow_ups_of(request)
        assert request.closed_at is not None
        assert follow_up.due_at == request.closed_at + timedelta(days=3)
        db.session.remove()
        db.engine.dispose()

    base = make_environ(tmp_path)
    assert load(tmp_path, base).follow_up_days == 2
    assert load(tmp_path, {**base, "PORTAL_FOLLOW_UP_DAYS": "1"}).follow_up_days == 1
    for wrong, message in (
        ("0", "PORTAL_FOLLOW_UP_DAYS must be from 1 to 3 days, not '0'"),
        ("4", "PORTAL_FOLLOW_UP_DAYS must be from 1 to 3 days, not '4'"),
        ("1.5", "PORTAL_FOLLOW_UP_DAYS must be a whole number of days, like 2, not '1.5'"),
    ):
        with pytest.raises(SettingsError) as refused:
            load(tmp_path, {**base, "PORTAL_FOLLOW_UP_DAYS": wrong})
        assert str(refused.value) == message


def test_an_outcome_is_recorded_once_and_the_queue_lists_the_oldest_due_first(app_context: Flask) -> None:
    assert FOLLOW_UP_OUTCOMES == ("reached", "no_answer", "declined")
    partner = peer_partner()
    other = db.session.scalars(select(Partner).where(Partner.key == "bhr")).one()
    now = datetime.now(UTC)
    later = FollowUp(cit_request=request_for(None), partner=partner, due_at=now + timedelta(days=2))
    sooner = FollowUp(cit_request=request_for(None), partner=partner, due_at=now - timedelta(days=1))
    done = FollowUp(cit_request=request_for(None), partner=partner, due_at=now - timedelta(days=3))
    elsewhere = FollowUp(cit_request=request_for(None), partner=other, due_at=now - timedelta(days=5))
    db.session.add_all([later, sooner, done, elsewhere])
    db.session.commit()

    with pytest.raises(ValueError):
        record_follow_up(done, outcome="spoke", note=None, by="pat@example.org")
    assert done.done_at is None
    assert record_follow_up(done, outcome="reached", note="  Doing better.  ", by="pat@example.org")
    db.session.commit()
    assert (done.outcome, done.note, done.done_by) == ("reached", "Doing better.", "pat@example.org")
    first_done_at = done.done_at
    assert first_done_at is not None
    assert not record_follow_up(done, outcome="declined", note="changed", by="sam@example.org")
    db.session.commit()
    assert (done.outcome, done.note, done.done_by, done.done_at) == (
        "reached",
        "Doing better.",
        "pat@example.org",
        first_done_at,
    )

    assert [item.id for item in open_follow_ups(partner.id)] == [sooner.id, later.id]
    assert [item.id for item in open_follow_ups(other.id)] == [elsewhere.id]


def test_missed_is_the_end_of_the_day_due_on_the_agency_clock(app_context: Flask) -> None:
    partner = peer_partner()

    def due(at: datetime, done: datetime | None = None) -> FollowUp:
        item = FollowUp(cit_request=request_for(None), partner=partner, due_at=at, done_at=done)
        db.session.add(item)
        db.session.commit()
        return item

    # Due Wednesday 18 November, 9 PM in St. Louis: 03:00 UTC on the 19th. The day due
    # ends at midnight St. Louis time, 06:00 UTC on the 19th (not at midnight UTC).
    evening = due(datetime(2026, 11, 19, 3, 0, tzinfo=UTC))
    assert not evening.missed(datetime(2026, 11, 19, 5, 59, tzinfo=UTC))  # 11:59 PM there
    assert evening.missed(datetime(2026, 11, 19, 6, 0, tzinfo=UTC))  # midnight there
    assert evening.deadline == datetime(2026, 11, 19, 6, 0, tzinfo=UTC)

    # Made at 11:50 PM St. Louis time that day: on time, never missed.
    made = due(datetime(2026, 11, 19, 3, 0, tzinfo=UTC), done=datetime(2026, 11, 19, 5, 50, tzinfo=UTC))
    assert not made.missed(datetime(2026, 11, 25, tzinfo=UTC))
    # Made at 12:10 AM the next day there: missed, though made.
    late = due(datetime(2026, 11, 19, 3, 0, tzinfo=UTC), done=datetime(2026, 11, 19, 6, 10, tzinfo=UTC))
    assert late.missed(datetime(2026, 11, 25, tzinfo=UTC))

    # Due at 10 AM on Sunday 1 November 2026, the 25-hour day the clocks went back
    # (16:00 UTC, CST): the day ends at midnight CST, 06:00 UTC on the 2nd.
    long_day = due(datetime(2026, 11, 1, 16, 0, tzinfo=UTC))
    assert not long_day.missed(datetime(2026, 11, 2, 5, 30, tzinfo=UTC))  # 11:30 PM there
    assert long_day.missed(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
