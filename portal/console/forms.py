"""Console forms. English is enough here, but every string goes through gettext."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

DISPOSITIONS = [
    ("cit_dispatched", _l("CIT officer dispatched")),
    ("co_responder", _l("Co-responder team")),
    ("behavioral_health_line", _l("Referred to the behavioral-health line")),
    ("transported", _l("Transported for care")),
    ("no_contact", _l("No contact made")),
    ("other", _l("Other")),
]


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
    disposition = SelectField(_l("Disposition"), choices=DISPOSITIONS)
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
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=30)])
    reference = StringField(_l("Plan code"), validators=[Optional(), Length(max=12)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])


class ViewPlanForm(FlaskForm):
    reason = StringField(
        _l("Why are you opening this plan?"),
        validators=[
            DataRequired(message=_l("Give a reason: it is recorded and the family can see it.")),
            Length(max=200),
        ],
        description=_l("For example: incoming 911 call, or the request number."),
    )


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
        choices=[("dispatcher", _l("Dispatcher")), ("supervisor", _l("Supervisor")), ("admin", _l("Admin"))],
    )


class ButtonForm(FlaskForm):
    """A button that needs only its CSRF token."""
