"""The program in numbers: counts and times for the supervisors' dashboard and the public
"program in numbers" page, without personal data.

Only counted columns are read (never a location, a callback number or a text), and only
counts, times and codes leave this module; the one exception, the reference of the
longest wait, goes to the signed-in console's page and never into its CSV.

Times are counted from the texter's first text (a request typed in by a dispatcher: from
when it was typed) to the first dispatch alert a phone accepted, and to acknowledgement.
Medians and 90th percentiles count only the requests that got there; the counts of those
that did not go beside them, so that a week in which 25 of 26 requests were never
acknowledged does not read as a good week. Weeks, hours and days are the agency's.

The partners' figures (hand-offs by partner, time to the partner's acknowledgement, their
outcomes, follow-ups made and missed) count hand-offs made, and follow-ups due, on the
days chosen; referrals count the requests received on them, like every request figure.

The public page shows no count below 10 and nothing a count below 10 can be worked out
from (`published`): small groups are folded together or hidden.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from portal.database import utcnow
from portal.dispatch.follow_ups import FollowUp, is_missed
from portal.dispatch.handoffs import HandOff, Partner
from portal.dispatch.models import ALERT_PURPOSES, CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.plans.models import PLAN_LIFETIME, CrisisPlan
from portal.times import local_day_start, local_days, local_today, to_local

# Dispositions that hand the person to care (portal.dispatch.display.DISPOSITIONS): a
# co-responder team (a clinician with the officer), the behavioral-health line, or
# transport for care. "CIT officer dispatched" says who was sent, not that the person
# reached care; "no contact" and "other" say nothing of care.
CARE_DISPOSITIONS = ("co_responder", "behavioral_health_line", "transported")
# Texts that bring a request to dispatch: to a dispatch phone, or to a fallback number
# when none answered. Reached: the network took it, and no failure came back.
NOT_REACHED = ("failed", "undelivered")
# A plan "expiring" ends within this many days (the first reminder goes 30 days before).
EXPIRING_WITHIN = timedelta(days=30)
# The public page's smallest count: fewer is shown as "fewer than 10".
SMALLEST_SHOWN = 10


def minutes_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 60, 0.0)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value that `share` of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass(frozen=True)
class Wait:
    """How long one request waited for a dispatcher."""

    reference: str
    received: datetime
    minutes: float
    state: str  # acknowledged, waiting (open, nobody acknowledged it yet), closed (never acknowledged)


@dataclass
class Tally:
    """The numbers for a period: the whole range, or one week."""

    requests: int = 0
    acknowledged: list[float] = field(default_factory=list)  # minutes from first text to acknowledgement
    alerted: list[float] = field(
        default_factory=list
    )  # minutes from first text to an alert reaching dispatch
    still_waiting: int = 0
    closed_unacknowledged: int = 0
    supervisors_alerted: int = 0
    not_delivered: int = 0
    longest: Wait | None = None

    @property
    def unacknowledged(self) -> int:
        return self.still_waiting + self.closed_unacknowledged

    @property
    def median(self) -> float | None:
        return statistics.median(self.acknowledged) if self.acknowledged else None

    @property
    def p90(self) -> float | None:
        return percentile(self.acknowledged, 0.9)

    @property
    def alert_median(self) -> float | None:
        return statistics.median(self.alerted) if self.alerted else None

    @property
    def alert_p90(self) -> float | None:
        return percentile(self.alerted, 0.9)

    def add(self, row: Any, now: datetime) -> None:  # a row of request_rows()
        self.requests += 1
        start = min(row.created_at, row.first_text_at or row.created_at)
        if row.alert_reached_at is not None:
            self.alerted.append(minutes_between(start, row.alert_reached_at))
        if row.acknowledged_at is not None:
            wait = Wait(row.reference, start, minutes_between(start, row.acknowledged_at), "acknowledged")
            self.acknowledged.append(wait.minutes)
        elif row.status == "closed":
            self.closed_unacknowledged += 1
            wait = Wait(row.reference, start, minutes_between(start, row.closed_at or now), "closed")
        else:
            self.still_waiting += 1
            wait = Wait(row.reference, start, minutes_between(start, now), "waiting")
        if row.supervisors_alerted_at is not None:
            self.supervisors_alerted += 1
        if row.escalated_at is not None:
            self.not_delivered += 1
        if self.longest is None or wait.minutes > self.longest.minutes:
            self.longest = wait


@dataclass
class RequestFigures:
    """Every count the dashboard shows about the CIT requests received in some local days."""

    overall: Tally = field(default_factory=Tally)
    # The texted requests alone: a voice call typed in is acknowledged as it is typed, so
    # its zero minutes would make "from the first text" look faster than it is.
    texted: Tally = field(default_factory=Tally)
    weeks: dict[date, Tally] = field(default_factory=dict)  # by the week's Monday
    languages: Counter[str] = field(default_factory=Counter)  # portal.i18n codes
    dispositions: Counter[str] = field(default_factory=Counter)  # of closed requests
    sources: Counter[str] = field(default_factory=Counter)  # sms, voice
    # Where the person was taken or referred (a facility of agency.toml, or stayed home).
    referrals: Counter[str] = field(default_factory=Counter)
    with_plan: int = 0
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)  # local hour of arrival
    by_weekday: list[int] = field(default_factory=lambda: [0] * 7)  # Monday first

    @property
    def closed_with_care(self) -> int:
        return sum(self.dispositions[key] for key in CARE_DISPOSITIONS)

    @property
    def closed(self) -> int:
        return sum(self.dispositions.values())

    def by_week(self) -> list[tuple[date, Tally]]:
        """Every week from the first to the last, empty ones too, oldest first."""
        if not self.weeks:
            return []
        monday, last = min(self.weeks), max(self.weeks)
        weeks = []
        while monday <= last:
            weeks.append((monday, self.weeks.get(monday) or Tally()))
            monday += timedelta(weeks=1)
        return weeks


def request_rows(first: date, last: date) -> list[Any]:
    """The counted columns of the requests received on local days first to last."""
    start, end = local_days(first, last)
    first_text = (
        select(RequestMessage.cit_request_id, func.min(RequestMessage.at).label("at"))
        .where(RequestMessage.direction == "in")
        .group_by(RequestMessage.cit_request_id)
        .subquery()
    )
    alert = (
        select(OutboundMessage.cit_request_id, func.min(OutboundMessage.accepted_at).label("at"))
        .where(
            OutboundMessage.purpose.in_(ALERT_PURPOSES),
            OutboundMessage.accepted_at.is_not(None),
            OutboundMessage.status.not_in(NOT_REACHED),
        )
        .group_by(OutboundMessage.cit_request_id)
        .subquery()
    )
    query = (
        select(
            CitRequest.reference,
            CitRequest.created_at,
            CitRequest.acknowledged_at,
            CitRequest.closed_at,
            CitRequest.status,
            CitRequest.supervisors_alerted_at,
            CitRequest.escalated_at,
            CitRequest.language,
            CitRequest.disposition,
            CitRequest.source,
            CitRequest.plan_reference,
            CitRequest.referral,
            first_text.c.at.label("first_text_at"),
            alert.c.at.label("alert_reached_at"),
        )
        .outerjoin(first_text, first_text.c.cit_request_id == CitRequest.id)
        .outerjoin(alert, alert.c.cit_request_id == CitRequest.id)
        .where(CitRequest.created_at >= start, CitRequest.created_at < end)
    )
    return list(db.session.execute(query).all())


def request_figures(first: date, last: date) -> RequestFigures:
    now = utcnow()
    figures = RequestFigures()
    for row in request_rows(first, last):
        figures.overall.add(row, now)
        if row.source == "sms":
            figures.texted.add(row, now)
        arrived = to_local(row.created_at)
        day = arrived.date()
        figures.weeks.setdefault(day - timedelta(days=day.weekday()), Tally()).add(row, now)
        figures.languages[row.language] += 1
        figures.sources[row.source] += 1
        if row.disposition:
            figures.dispositions[row.disposition] += 1
        if row.referral:
            figures.referrals[row.referral] += 1
        if row.plan_reference:
            figures.with_plan += 1
        figures.by_hour[arrived.hour] += 1
        figures.by_weekday[arrived.weekday()] += 1
    return figures


@dataclass(frozen=True)
class PlanFigures:
    """Crisis plans now, each counted once, and those registered in the dates chosen."""

    registered: int  # filed on the days chosen
    active: int  # on file, confirmed by the person (or filed by them), not ending soon
    awaiting_person: int  # on file, filed by family, the person has not confirmed yet
    expiring: int  # on file, ending within EXPIRING_WITHIN
    expired: int  # ended, to be deleted after the grace period

    @property
    def on_file(self) -> int:
        return self.active + self.awaiting_person + self.expiring


def plan_figures(first: date, last: date, now: datetime | None = None) -> PlanFigures:
    """Plans registered on the local days first to last, and the plans on file at `now`
    (by default this moment) in each state."""
    now = now or utcnow()
    start, end = local_days(first, last)
    ended = (CrisisPlan.confirmed_at <= now - PLAN_LIFETIME) & (CrisisPlan.created_at < now)
    ending = CrisisPlan.confirmed_at <= now - PLAN_LIFETIME + EXPIRING_WITHIN
    awaiting = CrisisPlan.person_confirmed_at.is_(None)
    filed = CrisisPlan.created_at < now

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(
            count((CrisisPlan.created_at >= start) & (CrisisPlan.created_at < end)),
            count(filed & ~ending & ~awaiting),
            count(filed & ~ending & awaiting),
            count(filed & ending & ~ended),
            count(ended),
        )
    ).one()
    return PlanFigures(*(int(value) for value in row))


@dataclass
class PartnerTally:
    """One partner's hand-offs in the dates chosen."""

    key: str  # agency.toml's key: a code, for the CSV
    name: str
    handoffs: int = 0
    acknowledged: list[float] = field(default_factory=list)  # minutes from hand-off to acknowledgement

    @property
    def unacknowledged(self) -> int:
        return self.handoffs - len(self.acknowledged)

    @property
    def median(self) -> float | None:
        return statistics.median(self.acknowledged) if self.acknowledged else None


@dataclass
class PartnerFigures:
    """Hand-offs made on the days chosen, and follow-ups due on them.

    Follow-ups fall in four groups, each counted once: made by the end of the day they
    were due (agency time), made later, not made with that day over, and not made with
    the day not over yet. Made is the first two; missed (portal.dispatch.follow_ups) the
    second and the third.
    """

    partners: list[PartnerTally] = field(default_factory=list)  # by partner id
    dispositions: Counter[str] = field(default_factory=Counter)  # the partners' outcomes
    follow_ups_on_time: int = 0
    follow_ups_late: int = 0
    follow_ups_not_made: int = 0
    follow_ups_not_due: int = 0

    @property
    def handoffs(self) -> int:
        return sum(partner.handoffs for partner in self.partners)

    @property
    def acknowledged(self) -> list[float]:
        return [minutes for partner in self.partners for minutes in partner.acknowledged]

    @property
    def median(self) -> float | None:
        minutes = self.acknowledged
        return statistics.median(minutes) if minutes else None

    @property
    def unacknowledged(self) -> int:
        return self.handoffs - len(self.acknowledged)

    @property
    def follow_ups(self) -> int:
        return (
            self.follow_ups_on_time
            + self.follow_ups_late
            + self.follow_ups_not_made
            + self.follow_ups_not_due
        )

    @property
    def follow_ups_made(self) -> int:
        return self.follow_ups_on_time + self.follow_ups_late

    @property
    def follow_ups_missed(self) -> int:
        return self.follow_ups_late + self.follow_ups_not_made


def partner_figures(first: date, last: date, now: datetime | None = None) -> PartnerFigures:
    """Hand-offs made on the local days first to last, by partner (every active partner
    that takes hand-offs, with none too), and the follow-ups due on those days as they
    stand at `now` (by default this moment)."""
    now = now or utcnow()
    start, end = local_days(first, last)
    figures = PartnerFigures()
    tallies: dict[int, PartnerTally] = {}
    listed = select(Partner.id, Partner.key, Partner.name).where(
        Partner.active.is_(True), Partner.role != "follow_up"
    )
    handed = (
        select(Partner.id, Partner.key, Partner.name)
        .join(HandOff, HandOff.partner_id == Partner.id)
        .where(HandOff.created_at >= start, HandOff.created_at < end)
    )
    for partner_id, key, name in sorted(set(db.session.execute(listed.union(handed)).all())):
        tallies[partner_id] = PartnerTally(key, name)
    figures.partners = list(tallies.values())
    rows = db.session.execute(
        select(HandOff.partner_id, HandOff.created_at, HandOff.acknowledged_at, HandOff.disposition).where(
            HandOff.created_at >= start, HandOff.created_at < end
        )
    )
    for row in rows:
        tally = tallies[row.partner_id]
        tally.handoffs += 1
        if row.acknowledged_at is not None:
            tally.acknowledged.append(minutes_between(row.created_at, row.acknowledged_at))
        if row.disposition:
            figures.dispositions[row.disposition] += 1
    follow_ups = db.session.execute(
        select(FollowUp.due_at, FollowUp.done_at).where(FollowUp.due_at >= start, FollowUp.due_at < end)
    )
    for due_at, done_at in follow_ups:
        if is_missed(due_at, done_at, now):
            if done_at is None:
                figures.follow_ups_not_made += 1
            else:
                figures.follow_ups_late += 1
        elif done_at is not None:
            figures.follow_ups_on_time += 1
        else:
            figures.follow_ups_not_due += 1
    return figures


# --- The public page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The figures a resident may read. A count is None when it is below SMALLEST_SHOWN
    ("fewer than 10"); a time or a share is None when it rests on fewer than that."""

    first_day: date  # 1 January of the year counted
    last_day: date  # the Sunday that ended the last full week
    requests: int | None
    median_minutes: float | None  # first text to acknowledgement
    care_share: float | None  # of closed requests, 0 to 1
    languages: list[tuple[str, int]]  # (portal.i18n code, requests), largest first
    other_languages: int | None  # the languages folded together; None: no such group
    plans_on_file: int | None


def shown(count: int) -> int | None:
    return count if count >= SMALLEST_SHOWN else None


def fold_languages(counts: Counter[str]) -> tuple[list[tuple[str, int]], int | None]:
    """Languages with SMALLEST_SHOWN requests or more; the rest as one group, itself at
    least SMALLEST_SHOWN: while it is smaller (but not empty), the smallest language shown
    joins it. Then no language's count can be worked out by subtracting the others from
    the total: every group shown, and every sum of groups, is 10 or more."""
    total = sum(counts.values())
    kept = sorted(
        ((code, n) for code, n in counts.items() if n >= SMALLEST_SHOWN), key=lambda item: (-item[1], item[0])
    )
    other = total - sum(n for _, n in kept)
    while 0 < other < SMALLEST_SHOWN and kept:
        other += kept.pop()[1]
    if other == total:
        # Everything in one group: that group is the total, already shown (or hidden).
        return [], None
    return kept, (other or None)


def last_full_week_end(today: date) -> date:
    """The Sunday before today (Monday to Sunday weeks, the agency's calendar)."""
    return today - timedelta(days=today.weekday() + 1)


def published(today: date | None = None) -> Published:
    """The year's figures up to the end of the last full week, as the public page shows them.

    Not up to the minute: a page that changed with each request would tell whoever
    watched it that someone had just asked for help, and in which language. Once a week,
    a change is the week's requests together. Until the first Sunday of a year the page
    shows the year before, up to its last Sunday. Plans on file are counted as that
    Sunday ended too (a plan withdrawn since is gone from the count at once: deleted
    plans leave no trace to count them by).
    """
    last_day = last_full_week_end(today or local_today())
    first_day = date(last_day.year, 1, 1)
    year = request_figures(first_day, last_day)
    overall = year.overall
    texted = year.texted  # the page's time runs "from the first text"
    enough_acknowledged = len(texted.acknowledged) >= SMALLEST_SHOWN
    care, closed = year.closed_with_care, year.closed
    # A share shown beside counts it comes from would give them away; here both the
    # requests handed to care and the others must be 10 or more.
    enough_closed = care >= SMALLEST_SHOWN and closed - care >= SMALLEST_SHOWN
    languages, other = fold_languages(year.languages) if overall.requests >= SMALLEST_SHOWN else ([], None)
    plans = plan_figures(last_day, last_day, now=local_day_start(last_day + timedelta(days=1)))
    return Published(
        first_day=first_day,
        last_day=last_day,
        requests=shown(overall.requests),
        median_minutes=texted.median if enough_acknowledged else None,
        care_share=care / closed if enough_closed else None,
        languages=languages,
        other_languages=other,
        plans_on_file=shown(plans.on_file),
    )
