"""The supervisors' dashboard: counts and trends without personal data, as charts (SVG made
here, each with its table) and as a CSV of the same aggregates.

The numbers come from portal.dispatch.statistics; this module only chooses the dates,
words and chart rows. Dates are the agency's local calendar.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from babel import Locale
from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent, get_locale, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional, ValidationError

from portal.console import bp, requires
from portal.console.forms import DISPOSITIONS, plausible_date
from portal.dispatch.handoffs import STAYED_HOME
from portal.dispatch.statistics import (
    CARE_DISPOSITIONS,
    PartnerFigures,
    PlanFigures,
    RequestFigures,
    partner_figures,
    plan_figures,
    request_figures,
)
from portal.i18n import language_name
from portal.settings import Settings
from portal.times import agency_zone, local_date, local_today

WEEKS = 12  # the range shown when none is chosen


class ReportForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False  # a search (GET) changes nothing

    start = DateField(_l("From (date)"), validators=[Optional(), plausible_date])
    end = DateField(_l("To (date)"), validators=[Optional(), plausible_date])

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The end date is before the start date."))


def duration_in_words(minutes: float) -> str:
    if minutes < 60:
        return str(_("%(minutes)s min", minutes=format_decimal(round(minutes, 1), "0.0")))
    whole = int(minutes)
    if whole < 48 * 60:
        return str(_("%(hours)d h %(minutes)d min", hours=whole // 60, minutes=whole % 60))
    return str(_("%(days)d days %(hours)d h", days=whole // (24 * 60), hours=whole % (24 * 60) // 60))


def chosen_days(form: ReportForm) -> tuple[date, date]:
    """The local days asked for, both included; the last 12 weeks when none are."""
    last = (form.end.data if form.end.data and not form.errors else None) or local_today()
    first = form.start.data if form.start.data and not form.errors else None
    return first or last - timedelta(weeks=WEEKS) + timedelta(days=1), last


# --- Charts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[float, ...]  # one a series, stacked
    shown: str  # the figure written at the bar's end


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart (templates/console/_charts.html) and the table beside it."""

    key: str  # the HTML id, and the prefix of the SVG's own ids
    title: str
    series: tuple[str, ...]  # names in the legend and the table's columns
    bars: list[Bar]
    label_heading: str

    @property
    def description(self) -> str:
        """What a screen reader hears after the title: the largest bar, and where the rest is."""
        if not any(sum(bar.values) for bar in self.bars):
            return str(_("Nothing to show in these dates."))
        top = max(self.bars, key=lambda bar: sum(bar.values))
        return str(
            _(
                "Bars: %(count)d. The longest: %(label)s, %(value)s. The table beside the chart gives every number.",
                count=len(self.bars),
                label=top.label,
                value=top.shown,
            )
        )

    @property
    def largest(self) -> float:
        return max((sum(bar.values) for bar in self.bars), default=0) or 1


def counted(count: int) -> str:
    return str(format_decimal(count))


def count_chart(key: str, title: str, heading: str, series: str, rows: Sequence[tuple[str, int]]) -> Chart:
    return Chart(key, title, (series,), [Bar(label, (n,), counted(n)) for label, n in rows], heading)


def weekday_names() -> list[str]:
    locale = get_locale() or Locale.parse("en")
    return [locale.days["format"]["wide"][day] for day in range(7)]  # 0 is Monday in Babel


def in_disposition_order(figures: RequestFigures | PartnerFigures) -> list[tuple[str, int]]:
    """As the close form lists them, the order dispatchers know."""
    order = [key for key, _words in DISPOSITIONS]
    return sorted(
        figures.dispositions.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
    )


def referrals_in_order(figures: RequestFigures) -> list[tuple[str, int]]:
    """The agency's facilities as agency.toml lists them, then "stayed home", each with its
    count (none too); then any other place recorded (a facility since taken out), most first."""
    listed = [*current_app.extensions["agency"].facilities, STAYED_HOME]
    others = [(place, n) for place, n in figures.referrals.most_common() if place not in listed]
    return [(place, figures.referrals[place]) for place in listed] + others


def follow_up_rows(partners: PartnerFigures) -> list[tuple[str, int]]:
    return [
        (_("Made by the end of the day due"), partners.follow_ups_on_time),
        (_("Made after the day due"), partners.follow_ups_late),
        (_("Not made, the day due is over"), partners.follow_ups_not_made),
        (_("Not made yet, the day due is not over"), partners.follow_ups_not_due),
    ]


def languages_by_count(figures: RequestFigures) -> list[tuple[str, int]]:
    """Each language's name in the reader's language, most requests first."""
    return [(language_name(code), n) for code, n in figures.languages.most_common()]


def charts(figures: RequestFigures, plans: PlanFigures, partners: PartnerFigures) -> list[Chart]:
    weeks = figures.by_week()
    words = dict(DISPOSITIONS)
    dispositions = in_disposition_order(figures)
    overall = figures.overall
    times = []
    for label, median, p90 in (
        (_("Alert reached dispatch"), overall.alert_median, overall.alert_p90),
        (_("Acknowledged"), overall.median, overall.p90),
    ):
        for measure, minutes in ((_("median"), median), (_("90th percentile"), p90)):
            times.append(
                Bar(
                    # Translators: a bar of the dashboard, e.g. "Acknowledged: 90th percentile".
                    _("%(until)s: %(measure)s", until=label, measure=measure),
                    (minutes or 0.0,),
                    duration_in_words(minutes) if minutes is not None else "—",
                )
            )
    return [
        Chart(
            "chart-weeks",
            _("Requests per week"),
            (_("Acknowledged"), _("Never acknowledged")),
            [
                Bar(
                    local_date(monday, "short"),
                    (len(week.acknowledged), week.unacknowledged),
                    counted(week.requests),
                )
                for monday, week in weeks
            ],
            _("Week of"),
        ),
        Chart(
            "chart-times",
            _("Minutes from the first text"),
            (_("Minutes"),),
            times,
            _("Measure"),
        ),
        count_chart(
            "chart-plans-on-file",
            _("Requests with a crisis plan on file"),
            _("Crisis plan"),
            _("Requests"),
            [
                (_("Plan on file"), figures.with_plan),
                (_("No plan on file"), overall.requests - figures.with_plan),
            ],
        ),
        count_chart(
            "chart-languages",
            _("Languages"),
            _("Language"),
            _("Requests"),
            languages_by_count(figures),
        ),
        Chart(
            "chart-dispositions",
            _("Dispositions of closed requests"),
            (_("Handed to care"), _("Other ending")),
            [
                Bar(
                    str(words.get(key, key)),
                    (n, 0) if key in CARE_DISPOSITIONS else (0, n),
                    counted(n),
                )
                for key, n in dispositions
            ],
            _("Disposition"),
        ),
        count_chart(
            "chart-hours",
            _("Requests by hour of day"),
            _("Hour"),
            _("Requests"),
            [(f"{hour:02d}:00", n) for hour, n in enumerate(figures.by_hour)],
        ),
        count_chart(
            "chart-weekdays",
            _("Requests by day of week"),
            _("Day"),
            _("Requests"),
            list(zip(weekday_names(), figures.by_weekday, strict=True)),
        ),
        Chart(
            "chart-handoffs",
            _("Hand-offs by partner"),
            (_("Acknowledged by the partner"), _("Not acknowledged")),
            [
                Bar(
                    partner.name,
                    (len(partner.acknowledged), partner.unacknowledged),
                    counted(partner.handoffs),
                )
                for partner in partners.partners
            ],
            _("Partner"),
        ),
        Chart(
            "chart-partner-outcomes",
            _("Partners' outcomes"),
            (_("Handed to care"), _("Other ending")),
            [
                Bar(
                    str(words.get(key, key)),
                    (n, 0) if key in CARE_DISPOSITIONS else (0, n),
                    counted(n),
                )
                for key, n in in_disposition_order(partners)
            ],
            _("Disposition"),
        ),
        count_chart(
            "chart-referrals",
            _("Where people were taken or referred"),
            _("Place"),
            _("Requests"),
            referrals_in_order(figures),
        ),
        count_chart(
            "chart-follow-ups",
            _("Follow-ups due in these dates"),
            _("Follow-up"),
            _("Follow-ups"),
            follow_up_rows(partners),
        ),
        count_chart(
            "chart-plans",
            _("Crisis plans now, each counted once"),
            # The account list's "State" is another word in some languages (账户状态).
            pgettext("a crisis plan's", "State"),
            _("Plans"),
            [
                (_("Active"), plans.active),
                (_("Awaiting the person's confirmation"), plans.awaiting_person),
                (_("Expiring within 30 days"), plans.expiring),
                (_("Expired, to be deleted"), plans.expired),
            ],
        ),
    ]


# --- Views --------------------------------------------------------------------------------


def report_form() -> tuple[ReportForm, date, date]:
    form = ReportForm(formdata=request.args)
    form.validate()
    first, last = chosen_days(form)
    # The boxes show the dates counted, chosen or not.
    if not form.start.raw_data or not form.start.raw_data[0]:
        form.start.data, form.start.raw_data = first, None
    if not form.end.raw_data or not form.end.raw_data[0]:
        form.end.data, form.end.raw_data = last, None
    return form, first, last


@bp.get("/reports")
@requires("supervisor")
def reports() -> ResponseReturnValue:
    form, first, last = report_form()
    figures = request_figures(first, last)
    plans = plan_figures(first, last)
    partners = partner_figures(first, last)
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    kept_since = local_today() - timedelta(days=settings.request_retention_days)
    overall = figures.overall
    return render_template(
        "console/reports.html",
        form=form,
        first=first,
        last=last,
        zone=agency_zone().key,
        overall=overall,
        figures=figures,
        plans=plans,
        partners=partners,
        partner_dispositions=[
            (str(dict(DISPOSITIONS).get(key, key)), n) for key, n in in_disposition_order(partners)
        ],
        charts={chart.key: chart for chart in charts(figures, plans, partners)},
        by_week=sorted(figures.weeks.items(), reverse=True),
        duration_in_words=duration_in_words,
        share_with_plan=format_percent(figures.with_plan / overall.requests) if overall.requests else None,
        retention_days=settings.request_retention_days if first < kept_since else None,
        languages=languages_by_count(figures),
        dispositions=[(str(dict(DISPOSITIONS).get(key, key)), n) for key, n in in_disposition_order(figures)],
        sources=figures.sources,
        query=request.query_string.decode() if not form.errors else "",
    )


def minutes_or_blank(minutes: float | None) -> str:
    return "" if minutes is None else f"{minutes:.1f}"


def csv_rows(
    first: date, last: date, figures: RequestFigures, plans: PlanFigures, partners: PartnerFigures
) -> Iterator[list[str | int]]:
    """The dashboard's aggregates, one figure a line: counts, minutes and codes only."""
    overall = figures.overall
    yield ["section", "item", "measure", "value"]
    yield ["dates", "first", "local date", first.isoformat()]
    yield ["dates", "last", "local date", last.isoformat()]
    for name, value in (
        ("requests", overall.requests),
        ("by text", figures.sources.get("sms", 0)),
        ("by voice call", figures.sources.get("voice", 0)),
        ("acknowledged", len(overall.acknowledged)),
        ("never acknowledged", overall.unacknowledged),
        ("still waiting", overall.still_waiting),
        ("closed without acknowledgement", overall.closed_unacknowledged),
        ("escalated to supervisors", overall.supervisors_alerted),
        ("alerts reached no dispatch phone", overall.not_delivered),
        ("alert reached dispatch", len(overall.alerted)),
        ("with a crisis plan on file", figures.with_plan),
        ("closed with a disposition", figures.closed),
        ("closed with care", figures.closed_with_care),
    ):
        yield ["all", name, "requests", value]
    for name, minutes in (
        ("first text to alert reaching dispatch, median", overall.alert_median),
        ("first text to alert reaching dispatch, 90th percentile", overall.alert_p90),
        ("first text to acknowledgement, median", overall.median),
        ("first text to acknowledgement, 90th percentile", overall.p90),
    ):
        yield ["all", name, "minutes", minutes_or_blank(minutes)]
    for monday, week in figures.by_week():
        yield ["week", monday.isoformat(), "requests", week.requests]
        yield ["week", monday.isoformat(), "never acknowledged", week.unacknowledged]
        yield ["week", monday.isoformat(), "escalated to supervisors", week.supervisors_alerted]
        yield ["week", monday.isoformat(), "acknowledgement median minutes", minutes_or_blank(week.median)]
        yield [
            "week",
            monday.isoformat(),
            "acknowledgement 90th percentile minutes",
            minutes_or_blank(week.p90),
        ]
    for code, n in figures.languages.most_common():
        yield ["language", code, "requests", n]
    for key, n in figures.dispositions.most_common():
        yield ["disposition", key, "requests", n]
    for hour, n in enumerate(figures.by_hour):
        yield ["hour of day", f"{hour:02d}", "requests", n]
    for day, n in zip(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        figures.by_weekday,
        strict=True,
    ):
        yield ["day of week", day, "requests", n]
    # Partners by their agency.toml key, a code; places by the agency's own names.
    yield ["all", "hand-offs", "hand-offs", partners.handoffs]
    yield ["all", "hand-offs acknowledged by the partner", "hand-offs", len(partners.acknowledged)]
    yield ["all", "hand-offs not acknowledged", "hand-offs", partners.unacknowledged]
    yield ["all", "hand-off to partner acknowledgement, median", "minutes", minutes_or_blank(partners.median)]
    for partner in partners.partners:
        yield ["partner", partner.key, "hand-offs", partner.handoffs]
        yield ["partner", partner.key, "acknowledged", len(partner.acknowledged)]
        yield ["partner", partner.key, "acknowledgement median minutes", minutes_or_blank(partner.median)]
    for key, n in in_disposition_order(partners):
        yield ["partner outcome", key, "hand-offs", n]
    for place, n in referrals_in_order(figures):
        yield ["referral", place, "requests", n]
    for name, n in (
        ("due in these dates", partners.follow_ups),
        ("made", partners.follow_ups_made),
        ("missed", partners.follow_ups_missed),
        ("made by the end of the day due", partners.follow_ups_on_time),
        ("made after the day due", partners.follow_ups_late),
        ("not made, the day due is over", partners.follow_ups_not_made),
        ("not made yet, the day due is not over", partners.follow_ups_not_due),
    ):
        yield ["follow-ups", name, "follow-ups", n]
    yield ["plans", "registered in these dates", "plans", plans.registered]
    yield ["plans", "active", "plans", plans.active]
    yield ["plans", "awaiting the person", "plans", plans.awaiting_person]
    yield ["plans", "expiring within 30 days", "plans", plans.expiring]
    yield ["plans", "expired, to be deleted", "plans", plans.expired]


@bp.get("/reports.csv")
@requires("supervisor")
def reports_export() -> ResponseReturnValue:
    form, first, last = report_form()
    if form.errors:
        return reports()
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        csv_rows(
            first,
            last,
            request_figures(first, last),
            plan_figures(first, last),
            partner_figures(first, last),
        )
    )
    name = f"cit-requests-{first.isoformat()}-to-{last.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
