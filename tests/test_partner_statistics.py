"""The supervisors' dashboard's partner figures on hand-offs, referrals and follow-ups
counted by hand: hand-offs by partner, the median time to the partner's acknowledgement,
the partners' outcomes, referrals by facility, follow-ups made and missed, on the page and
in the CSV, on SQLite and PostgreSQL; and nothing personal in the CSV.

The dates are the last seven St. Louis days up to today, so that "due yesterday" means
yesterday; every moment is written as St. Louis wall-clock time and turned to UTC here
with the standard library.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.dispatch.follow_ups import FollowUp
from portal.dispatch.handoffs import HandOff, Partner, register_partners
from portal.dispatch.models import CitRequest
from portal.extensions import db
from tests.console_helpers import make_user, sign_in
from tests.test_dashboard import chart_table, text_of

ST_LOUIS = ZoneInfo("America/Chicago")  # agency.toml's time zone
BHR = "Behavioral Health Response (BHR)"
CO_RESPONDER = "Co-responder team (officer and clinician)"


def today() -> date:
    return datetime.now(UTC).astimezone(ST_LOUIS).date()


def local(days_ago: int, hour: int, minute: int, second: int = 0) -> datetime:
    """St. Louis wall-clock time `days_ago` days before today, as UTC."""
    day = today() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute, second), tzinfo=ST_LOUIS).astimezone(UTC)


def dates() -> str:
    return f"start={today() - timedelta(days=6)}&end={today()}"


def handed(
    partner: Partner,
    created: datetime,
    *,
    acknowledged: datetime | None,
    disposition: str | None = None,
    referral: str | None = None,
) -> CitRequest:
    """A texted request received a minute before it was handed to `partner`."""
    request = CitRequest(
        source="sms",
        created_at=created - timedelta(minutes=1),
        callback_number="+13145550177",
        language="en",
        location="4500 Hidden Street",
        location_source="texted",
        status="closed" if disposition else "acknowledged",
        acknowledged_at=created,
        acknowledged_by="dee@example.org",
        disposition=disposition,
        closed_at=created + timedelta(hours=2) if disposition else None,
        referral=referral,
    )
    db.session.add(request)
    db.session.add(
        HandOff(
            cit_request=request,
            partner=partner,
            created_at=created,
            created_by="dee@example.org",
            acknowledged_at=acknowledged,
            acknowledged_by="pat@example.org" if acknowledged else None,
            outcome_at=acknowledged + timedelta(minutes=30) if disposition and acknowledged else None,
            outcome_by="pat@example.org" if disposition else None,
            disposition=disposition,
            referral=referral,
            outcome_note="Hidden outcome note" if disposition else None,
        )
    )
    db.session.flush()
    return request


def hand_counted(app: Flask) -> None:
    """Hand-offs, referrals and follow-ups; the tests' expected numbers are counted from
    these by hand."""
    with app.app_context():
        register_partners()
        partners = {partner.key: partner for partner in db.session.scalars(select(Partner))}
        bhr, team, peers = partners["bhr"], partners["co-responder"], partners["peer-follow-up"]
        # In the dates (the last 7 days, today included):
        # H1 BHR, acknowledged after 3 min; referred to the behavioral-health line; BJC.
        r1 = handed(
            bhr,
            local(3, 10, 0),
            acknowledged=local(3, 10, 3),
            disposition="behavioral_health_line",
            referral="BJC Behavioral Health",
        )
        # H2 BHR, acknowledged after 10 min; transported; BJC.
        r2 = handed(
            bhr,
            local(3, 14, 0),
            acknowledged=local(3, 14, 10),
            disposition="transported",
            referral="BJC Behavioral Health",
        )
        # H3 BHR, never acknowledged, no outcome.
        r3 = handed(bhr, local(3, 20, 0), acknowledged=None)
        # H4 the co-responder team, acknowledged after 1 min 30 s; co-responder; stayed home.
        r4 = handed(
            team,
            local(2, 11, 0),
            acknowledged=local(2, 11, 1, 30),
            disposition="co_responder",
            referral="Stayed home with a safety plan",
        )
        # H6 BHR at 12:15 AM on the first day (06:15 UTC): acknowledged after 5 min;
        # behavioral-health line; peer respite.
        r6 = handed(
            bhr,
            local(6, 0, 15),
            acknowledged=local(6, 0, 20),
            disposition="behavioral_health_line",
            referral="Peer respite",
        )
        # Outside the dates, each acknowledged after 100 min and transported to the
        # hospital: H5 ten days ago; H7 at 11:30 PM the evening before the first day
        # (05:30 UTC on the first day, which a UTC calendar would count).
        r5, _r7 = (
            handed(
                bhr,
                moment,
                acknowledged=moment + timedelta(minutes=100),
                disposition="transported",
                referral="Hospital emergency department",
            )
            for moment in (local(10, 12, 0), local(7, 23, 30))
        )
        # Follow-ups, by the day they were due (St. Louis days):
        for request, due, done in (
            (r1, local(1, 10, 0), None),  # F1 due yesterday, not made: missed
            (r2, local(1, 9, 0), local(1, 16, 0)),  # F2 due yesterday, made that day
            (r3, local(2, 10, 0), local(1, 8, 0)),  # F3 due two days ago, made a day late
            (r4, local(0, 0, 30), None),  # F4 due today: the day is not over
            # F6 due on the first day at 12:10 AM, made at 11:50 PM there (05:50 UTC
            # the next day): on time by the agency's clock.
            (r6, local(6, 0, 10), local(6, 23, 50)),
            (r5, local(8, 10, 0), None),  # F5 due before the dates: not counted (one a request)
        ):
            db.session.add(
                FollowUp(
                    cit_request=request,
                    partner=peers,
                    due_at=due,
                    done_at=done,
                    done_by="pat@example.org" if done else None,
                    outcome="reached" if done else None,
                    note="Hidden follow-up note" if done else None,
                )
            )
        db.session.commit()


@pytest.fixture
def supervisor(any_database_app: Flask) -> FlaskClient:
    client = any_database_app.test_client()
    secret = make_user(any_database_app, "sue@example.org", "supervisor")
    assert sign_in(any_database_app, client, "sue@example.org", secret).status_code == 302
    hand_counted(any_database_app)
    return client


def test_the_page_gives_the_hand_counted_partner_figures(supervisor: FlaskClient) -> None:
    page = text_of(supervisor.get(f"/console/reports?{dates()}").get_data(as_text=True))
    # H1, H2, H3, H6 to BHR, H4 to the team.
    assert "5 hand-offs to partners in these dates." in page
    # Acknowledged after 3, 10, 5 (BHR) and 1.5 (team) minutes: median (3 + 5) / 2 = 4.
    assert "From the hand-off to the partner's acknowledgement: median 4.0 min." in page
    assert "Counted over the 4 hand-offs partners acknowledged; 1 not acknowledged." in page
    # BHR: 3 acknowledged of 4, median of 3, 5, 10 = 5; the team: 1 of 1, 1.5. The peers
    # take follow-ups, not hand-offs, and have no row.
    assert chart_table(page, "chart-handoffs") == [
        [BHR, "4", "3", "5.0 min"],
        [CO_RESPONDER, "1", "1", "1.5 min"],
    ]
    assert sorted(chart_table(page, "chart-partner-outcomes")) == [
        ["Co-responder team", "1"],
        ["Referred to the behavioral-health line", "2"],
        ["Transported for care", "1"],
    ]
    # The requests of H1, H2, H4, H6 (H5's and H7's were received before the dates).
    assert chart_table(page, "chart-referrals") == [
        ["BJC Behavioral Health", "2"],
        ["BHR crisis stabilization", "0"],
        ["Hospital emergency department", "0"],
        ["Peer respite", "1"],
        ["Stayed home with a safety plan", "1"],
    ]
    # Due in the dates: F1, F2, F3, F4, F6. Made: F2, F6 on time, F3 late. Missed: F1
    # (not made), F3 (made late). F4 is due today.
    assert chart_table(page, "chart-follow-ups") == [
        ["Made by the end of the day due", "2"],
        ["Made after the day due", "1"],
        ["Not made, the day due is over", "1"],
        ["Not made yet, the day due is not over", "1"],
    ]
    assert "5 follow-ups due in these dates: 3 made, 2 missed" in page
    assert "1 made after the day it was due is counted in both." in page


def test_the_csv_holds_the_partner_figures_and_nothing_personal(supervisor: FlaskClient) -> None:
    export = supervisor.get(f"/console/reports.csv?{dates()}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    body = export.get_data(as_text=True)
    figures = {
        (row["section"], row["item"], row["measure"]): row["value"]
        for row in csv.DictReader(io.StringIO(body))
    }
    expected = {
        ("all", "hand-offs", "hand-offs"): "5",
        ("all", "hand-offs acknowledged by the partner", "hand-offs"): "4",
        ("all", "hand-offs not acknowledged", "hand-offs"): "1",
        ("all", "hand-off to partner acknowledgement, median", "minutes"): "4.0",
        ("partner", "bhr", "hand-offs"): "4",
        ("partner", "bhr", "acknowledged"): "3",
        ("partner", "bhr", "acknowledgement median minutes"): "5.0",
        ("partner", "co-responder", "hand-offs"): "1",
        ("partner", "co-responder", "acknowledgement median minutes"): "1.5",
        ("partner outcome", "behavioral_health_line", "hand-offs"): "2",
        ("partner outcome", "transported", "hand-offs"): "1",
        ("partner outcome", "co_responder", "hand-offs"): "1",
        ("referral", "BJC Behavioral Health", "requests"): "2",
        ("referral", "Hospital emergency department", "requests"): "0",
        ("referral", "Stayed home with a safety plan", "requests"): "1",
        ("follow-ups", "due in these dates", "follow-ups"): "5",
        ("follow-ups", "made", "follow-ups"): "3",
        ("follow-ups", "missed", "follow-ups"): "2",
        ("follow-ups", "made after the day due", "follow-ups"): "1",
        ("follow-ups", "not made, the day due is over", "follow-ups"): "1",
        ("follow-ups", "not made yet, the day due is not over", "follow-ups"): "1",
    }
    assert {key: figures.get(key) for key in expected} == expected
    assert ("partner", "peer-follow-up", "hand-offs") not in figures
    for personal in ("R-", "555", "314", "Hidden", "example.org"):
        assert personal not in body, personal


def test_no_partner_activity_shows_zeros_not_errors(any_database_app: Flask) -> None:
    client = any_database_app.test_client()
    secret = make_user(any_database_app, "sue@example.org", "supervisor")
    sign_in(any_database_app, client, "sue@example.org", secret)
    page = text_of(client.get(f"/console/reports?{dates()}").get_data(as_text=True))
    assert "0 hand-offs to partners in these dates." in page
    assert "No hand-off was acknowledged by a partner in these dates" in page
    assert "0 follow-ups due in these dates: 0 made, 0 missed" in page
    assert chart_table(page, "chart-partner-outcomes") == [["Nothing to show in these dates."]]
