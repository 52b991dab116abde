"""Console forms. English is enough here, but every string goes through gettext."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, ValidationError

from portal.dispatch.display import DISPOSITIONS as DISPOSITION_WORDS
from portal.plans.forms import phone_number
from portal.plans.names import name_words

# How a request ended, in words (portal.dispatch.display, where the lifecycle checks them).
DISPOSITIONS = list(DISPOSITION_WORDS.items())


def plausible_date(_form: FlaskForm, field: DateField) -> None:
    """A filter date the records can hold: "9999-12-31" would overflow the day after it."""
    if field.data and not date(2000, 1, 1) <= field.data <= date(2100, 12, 31):
        raise ValidationError(_l("Enter a date between 2000 and 2100."))


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(message=_l("Enter your email."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])


class TotpForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(message=_l("Enter the 6-digit code."))],
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("Choose a password."))],
        description=_l("At least 12 characters. A long phrase is easy to remember and hard to guess."),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
    )


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[DataRequired(message=_l("Write a note.")), Length(max=2000)])


class ReplyForm(FlaskForm):
    template = RadioField(_l("Text to send"), validators=[InputRequired(message=_l("Choose a text."))])


class CloseForm(FlaskForm):
    # Nothing chosen until the dispatcher chooses: a pre-chosen disposition would be
    # recorded whenever nobody looked.
    disposition = SelectField(
        _l("Disposition"),
        choices=[("", _l("Choose how the request ended")), *DISPOSITIONS],
        validators=[DataRequired(message=_l("Choose a disposition: how the request ended."))],
    )
    cad_number = StringField(_l("CAD incident number"), validators=[Optional(), Length(max=40)])
    text_texter = RadioField(
        _l("Tell the texter by text that the request is closed?"),
        choices=[("yes", _l("Yes")), ("no", _l("No"))],
        default="yes",
    )


class ManualRequestForm(FlaskForm):
    location = StringField(
        _l("Location"), validators=[DataRequired(message=_l("Enter the location.")), Length(max=300)]
    )
    callback = StringField(_l("Callback number"), validators=[Optional(), Length(max=30)])
    language = SelectField(_l("Caller's language"))
    note = TextAreaField(_l("What is happening"), validators=[Optional(), Length(max=2000)])


class LookupForm(FlaskForm):
    """A phone number or a plan code finds a plan alone; a name needs the date of birth."""

    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=30)])
    reference = StringField(_l("Plan code"), validators=[Optional(), Length(max=12)])
    name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=120)],
        description=_l(
            "Full name, or the name they like to be called with their family name. "
            "Capitals, accents, hyphens and word order do not matter."
        ),
    )
    birth_date = DateField(
        _l("Date of birth"), validators=[Optional()], description=_l("Needed to search by name.")
    )

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        for typed in (self.phone, self.reference, self.name):
            typed.data = (typed.data or "").strip()
        if self.phone.data or self.reference.data:
            return True
        # Punctuation alone is no name: it would find nothing and say "0 plans found".
        named = bool(name_words(self.name.data or ""))
        if named and self.birth_date.data is None:
            self.birth_date.errors.append(
                _l("Enter the date of birth too: a name alone does not find a plan.")
            )
        elif not named and self.birth_date.data is not None:
            self.name.errors.append(_l("Enter the name too: a date of birth alone does not find a plan."))
        elif not named:
            self.phone.errors.append(
                _l("Enter a phone number, a plan code, or a name and date of birth to search.")
            )
        else:
            return True
        return False


# The common reasons to open a plan, offered as choices; "request:<reference>" choices
# (the requests linked to the plan) are added by the view.
PLAN_REASONS = [
    ("call", _l("Incoming 911 call")),
    ("en_route", _l("CIT officer en route")),
]


class ViewPlanForm(FlaskForm):
    """Why a plan is opened: a common reason, a linked request, or words of one's own
    (the reason alone, without a choice, as the look-up page sends it)."""

    choice = RadioField(_l("Why are you opening this plan?"), validators=[Optional()], validate_choice=False)
    reason = StringField(
        _l("Why are you opening this plan?"),
        validators=[Length(max=200)],
        description=_l("For example: incoming 911 call, or the request number."),
    )

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.reason.data = (self.reason.data or "").strip()
        known = {value for value, _label in self.choice.choices or []}
        if self.choice.data and self.choice.data not in known:
            self.choice.errors = [_l("Choose one of the reasons.")]
            return False
        if self.choice.data == "other" and not self.reason.data:
            self.reason.errors = [_l("Give a reason: it is recorded and the family can see it.")]
            return False
        if not self.choice.data and not self.reason.data:
            self.choice.errors = [
                _l("Choose a reason or write one: it is recorded and the family can see it.")
            ]
            return False
        return True


class WithdrawPlanForm(FlaskForm):
    reason = StringField(
        _l("Why is the plan withdrawn?"),
        validators=[DataRequired(message=_l("Give the reason for withdrawing the plan.")), Length(max=200)],
        description=_l(
            "For example: the family lost their phones and asked by phone; a new plan replaces it."
        ),
    )


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET) changes nothing

    actor = StringField(_l("User"), validators=[Optional()])
    action = StringField(_l("Action"), validators=[Optional()])
    plan_reference = StringField(_l("Plan code"), validators=[Optional()])


class NewUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(message=_l("Enter an email."))])
    role = SelectField(
        _l("Role"),
        choices=[
            ("dispatcher", _l("Dispatcher")),
            ("supervisor", _l("Supervisor")),
            ("admin", _l("Admin")),
            ("partner", _l("Partner staff (sees only what is handed to their partner)")),
        ],
    )
    partner = SelectField(_l("Partner"), coerce=int, default=0)


class ButtonForm(FlaskForm):
    """A button that needs only its CSRF token."""


class OfficerCardForm(FlaskForm):
    """Send the officer card to a registered responder: by text, or as a QR code shown
    on this screen for the car's computer to scan. Never to a number typed here."""

    responder = SelectField(
        _l("Responding officer or unit"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose the responding officer or unit."))],
    )
    # A request's card, or (from a plan opened without a request) a plan's.
    request_reference = StringField(validators=[Optional(), Length(max=8)])


class ResponderForm(FlaskForm):
    label = StringField(
        _l("Officer or unit"),
        validators=[
            DataRequired(message=_l("Name the officer or unit, such as “Unit 3142”.")),
            Length(max=80, message=_l("Please keep this under %(max)d characters.", max=80)),
        ],
        description=_l("As dispatch calls them on the radio. The family’s access log shows it."),
    )
    number = StringField(
        _l("Mobile phone number"),
        validators=[DataRequired(message=_l("Enter a phone number.")), phone_number],
        description=_l("The phone the officer card is texted to."),
    )


class HandOffForm(FlaskForm):
    """Hand a request to a partner that is taking hand-offs now."""

    partner = SelectField(
        _l("Partner"), coerce=int, validators=[InputRequired(message=_l("Choose the partner."))]
    )


class PartnerOutcomeForm(FlaskForm):
    """What the partner did: shown at once to the dispatcher, who closes the request."""

    disposition = SelectField(
        _l("Disposition"),
        choices=[("", _l("Choose how the request ended")), *DISPOSITIONS],
        validators=[DataRequired(message=_l("Choose a disposition: how the request ended."))],
    )
    # Choices: the agency's facilities, "stayed home", or none (set by the view).
    referral = SelectField(_l("Where the person was taken or referred"), validators=[Optional()])
    note = TextAreaField(
        _l("What happened"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Please keep this under %(max)d characters.", max=2000)),
        ],
    )


class AcceptOutcomeForm(FlaskForm):
    cad_number = StringField(_l("CAD incident number"), validators=[Optional(), Length(max=40)])
    text_texter = RadioField(
        _l("Tell the texter by text that the request is closed?"),
        choices=[("yes", _l("Yes")), ("no", _l("No"))],
        default="yes",
    )


class FollowUpForm(FlaskForm):
    outcome = RadioField(
        _l("How did the follow-up go?"),
        choices=[
            ("reached", _l("Reached the person")),
            ("no_answer", _l("No answer")),
            ("declined", _l("The person did not want a follow-up")),
        ],
        validators=[InputRequired(message=_l("Choose how the follow-up went."))],
    )
    note = TextAreaField(
        _l("Note"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Please keep this under %(max)d characters.", max=2000)),
        ],
    )
