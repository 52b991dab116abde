"""The crisis-plan form, in short steps, and the registrant's sign-in forms.

Every validator carries its own message, written for residents and translated, instead
of WTForms' generic ones.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.i18n import LANGUAGES
from portal.phones import DEFAULT_REGION, may_text, to_e164

IS_POSSIBLE_LOCAL_ONLY = phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
SHORT = 120
LONG = 2000


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BirthDateField(DateField):
    """A date field whose error is ours (and translated), and that refuses the future."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter the date of birth as month, day and year.")) from None


def past_date(form: FlaskForm, field: DateField) -> None:
    if field.data and not date(1900, 1, 1) <= field.data <= date.today():
        raise ValidationError(_l("The date of birth must be in the past."))


def text(
    label: Any, hint: Any = None, *, required: Any = None, max_length: int = LONG, area: bool = True
) -> Any:
    """A free-text field: optional unless `required` gives the message for a blank one."""
    validators = [DataRequired(message=required)] if required else [Optional()]
    validators.append(
        Length(max=max_length, message=_l("Please keep this under %(max)d characters.", max=max_length))
    )
    field_class = TextAreaField if area else StringField
    return field_class(label, validators=validators, description=hint or "")


YES_NO_UNSURE = [("yes", _l("Yes")), ("no", _l("No")), ("unsure", _l("Don’t know or prefer not to say"))]


class HoneypotMixin:
    # Hidden from people (CSS and aria-hidden); simple bots fill it in.
    website = StringField(_l("Leave this field empty"), validators=[Optional()])


class PersonForm(HoneypotMixin, FlaskForm):
    name = text(_l("Full name"), required=_l("Enter the person’s full name."), max_length=SHORT, area=False)
    preferred_name = text(_l("Name they like to be called"), max_length=SHORT, area=False)
    pronouns = text(_l("Pronouns"), _l("For example: she/her, he/him, they/them."), max_length=40, area=False)
    birth_date = BirthDateField(
        _l("Date of birth"),
        validators=[InputRequired(message=_l("Enter the date of birth.")), past_date],
    )
    spoken_language = text(
        _l("Language the person speaks best"),
        _l("For example: English, Spanish, ASL."),
        max_length=60,
        area=False,
    )
    interpreter = RadioField(
        _l("Does the person need an interpreter?"),
        choices=[("yes", _l("Yes")), ("no", _l("No"))],
        validators=[Optional()],
    )
    communication = MultiCheckboxField(
        _l("Communication needs"),
        choices=[
            ("deaf", _l("Deaf or hard of hearing")),
            ("nonverbal", _l("Does not speak, or speaks very little")),
            ("autistic", _l("Autistic")),
            ("device", _l("Uses a communication device or app")),
        ],
        validators=[Optional()],
        description=_l("Choose all that apply."),
    )
    description = text(
        _l("What the person looks like"),
        _l("Height, build, hair, glasses, clothes they often wear. This helps officers find them."),
    )


class WhereForm(HoneypotMixin, FlaskForm):
    home_address = text(
        _l("Home address"), _l("Street, apartment, city. Leave empty if the person has no home.")
    )
    other_places = text(
        _l("Other places the person is often found"), _l("A park, a relative’s home, a shelter.")
    )


class CrisisForm(HoneypotMixin, FlaskForm):
    early_signs = text(_l("Early signs of a crisis"), _l("What changes when things start to go wrong?"))
    triggers = MultiCheckboxField(
        _l("What can make things worse"),
        choices=[
            ("sirens", _l("Sirens or flashing lights")),
            ("uniforms", _l("Uniforms or police cars")),
            ("touch", _l("Being touched")),
            ("loud", _l("Loud voices or shouting")),
            ("crowds", _l("Many people around")),
        ],
        validators=[Optional()],
        description=_l("Choose all that apply."),
    )
    other_triggers = text(_l("Other things that make it worse"))
    what_helps = text(
        _l("What helps the person calm down"),
        _l("For example: a quiet voice, space, a family member, music."),
        required=_l("Tell officers at least one thing that helps."),
    )
    what_to_avoid = text(
        _l("What officers should avoid"), _l("For example: standing close, raising your voice.")
    )
    weapons = RadioField(_l("Are there weapons in the home?"), choices=YES_NO_UNSURE, validators=[Optional()])
    self_harm = RadioField(
        _l("Is there a risk of self-harm?"), choices=YES_NO_UNSURE, validators=[Optional()]
    )
    safety_notes = text(_l("Other safety concerns you choose to share"))


class CareForm(HoneypotMixin, FlaskForm):
    diagnoses = text(_l("Diagnoses"), _l("Optional. Only what you want dispatch and officers to know."))
    medications = text(_l("Medicines"))
    clinicians = text(_l("Doctor, counselor or case manager"), _l("Name and phone number."))
    preferred_hospitals = text(_l("Preferred hospital or crisis center"))
    avoided_hospitals = text(_l("Hospital or crisis center to avoid"))
    advance_directive = RadioField(
        _l("Is there a psychiatric advance directive?"),
        choices=YES_NO_UNSURE,
        validators=[Optional()],
        description=_l("A signed paper that says what care the person wants in a crisis."),
    )
    advance_directive_where = text(_l("Where is it kept?"), max_length=SHORT, area=False)


class PeopleForm(HoneypotMixin, FlaskForm):
    emergency_contacts = text(
        _l("Emergency contacts"),
        _l("Names, how they are related and phone numbers."),
        required=_l("Add at least one emergency contact."),
    )
    decision_makers = text(_l("Who may make decisions for the person"), _l("For example: a guardian."))
    do_not_contact = text(_l("Who must not be contacted"))


def phone_number(form: FlaskForm, field: StringField) -> None:
    """A real, dialable number: '555-1234' lacks its area code, and a code texted to
    '+15551234' would never arrive."""
    typed = field.data or ""
    try:
        number = phonenumbers.parse(typed, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number_with_reason(number) == IS_POSSIBLE_LOCAL_ONLY:
        raise ValidationError(_l("Add the area code, like (314) 555-0100."))
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("Enter a phone number like (314) 555-0100."))
    field.data = to_e164(typed)


def textable_phone(form: FlaskForm, field: StringField) -> None:
    """A code can be texted to it: a valid number in one of the agency's countries."""
    countries = current_app.config["PORTAL_SETTINGS"].sms_countries
    if field.data and not field.errors and not may_text(field.data, countries):
        names = ", ".join(get_locale().territories.get(code, code) for code in countries)
        field.data = field.raw_data[0] if field.raw_data else field.data  # shown as typed
        raise ValidationError(
            _("We can only send text messages to phones in: %(countries)s.", countries=names)
        )


PHONE_ROLES = [
    ("person", _l("The person’s own phone")),
    ("filer", _l("My phone (I am filing this plan)")),
    ("other", _l("Another family member’s phone")),
]


# Whose phone each is, as the plan page, the print-out and "check your answers" say it.
PHONE_OWNERS = {
    "person": _l("The person’s own phone"),
    "filer": _l("Phone of whoever filed the plan"),
    "other": _l("Family member’s phone (only to find the plan)"),
    # The person's phone, not yet verified: texted the confirmation, never used to find the plan.
    "pending": _l("The person’s own phone, waiting for them to confirm"),
}


class AddPhoneForm(HoneypotMixin, FlaskForm):
    number = StringField(
        _l("Phone number"),
        validators=[DataRequired(message=_l("Enter a phone number.")), phone_number, textable_phone],
        description=_l("A mobile phone that can get text messages."),
    )
    role = RadioField(
        _l("Whose phone is this?"),
        choices=PHONE_ROLES,
        validators=[InputRequired(message=_l("Choose whose phone this is."))],
    )


def digits_only(typed: str | None) -> str | None:
    """ "567 646", "567-646" and "٥٦٧٦٤٦" are all the code 567646."""
    if typed is None:
        return None
    return "".join(str(unicodedata.digit(ch)) for ch in typed if unicodedata.digit(ch, None) is not None)


class CodeForm(HoneypotMixin, FlaskForm):
    code = StringField(
        _l("Code"),
        filters=[digits_only],
        validators=[
            DataRequired(message=_l("Enter the 6-digit code we sent.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        description=_l("We sent a 6-digit code by text message. It works for 10 minutes."),
    )


FILED_BY_CHOICES = [
    ("self", _l("I am the person this plan is about")),
    ("parent", _l("I am the parent of a child under 18")),
    ("guardian", _l("I am the person’s legal guardian")),
    ("family", _l("I am family or a friend. The person will be asked to confirm the plan.")),
]
ADULT_AGE = 18


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class OptInField(RadioField):
    """A yes or no choice that the family opts in to: nothing is chosen when the question
    is first shown (never a box ticked for them), and a step sent without an answer
    reads as "no". Rendered, saved and shown on "check your answers" as a RadioField."""

    def __init__(self, label: Any, yes: Any, **options: Any) -> None:
        super().__init__(
            label,
            choices=[("yes", yes), ("no", _l("No"))],
            invalid_choice_message=_l("Choose yes or no."),
            **options,
        )
        self.type = "RadioField"  # the form macro draws radio buttons by this name

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0] if valuelist else "no"


# The family's choices about texts and the follow-up call (issue 16), by CrisisPlan column.
TEXT_CHOICES = ("notify_on_open", "notify_on_close", "follow_up_consent")


class ConsentForm(HoneypotMixin, FlaskForm):
    # A yes/no question rather than a box left unticked by default: the most important
    # choice on the plan is never made by not noticing it.
    cit_requested = RadioField(
        _l("Should dispatch send a CIT-trained officer when one is available?"),
        choices=[("yes", _l("Yes, send a CIT officer")), ("no", _l("No"))],
        validators=[InputRequired(message=_l("Choose whether dispatch should send a CIT officer."))],
    )
    # Choices are checked by validate_filed_by, which knows the person's age and has
    # messages of its own (WTForms' "Not a valid choice" says nothing useful).
    filed_by = RadioField(
        _l("Who is filing this plan?"),
        choices=FILED_BY_CHOICES,
        validate_choice=False,
        validators=[InputRequired(message=_l("Choose who is filing this plan."))],
    )
    guardian_statement = BooleanField(
        _l("I am the person’s legal guardian, appointed by a court, and can show the papers if asked."),
        description=_l("Only if you are the legal guardian."),
    )
    language = SelectField(
        _l("Language for text messages and the wallet card"),
        choices=[(language.code, language.name) for language in LANGUAGES],
        validators=[InputRequired()],
    )

    # What the family is told by text, and the follow-up after a crisis: each opted in
    # to, never assumed (the plan's columns of the same names).
    notify_on_open = OptInField(
        _l("Should we text you when the plan is opened for a request?"),
        _l("Yes, text me when my plan is opened for a request"),
        description=_l(
            "The text says who opened it (a 911 dispatcher, a crisis partner or a responding "
            "officer) and why, never what the plan says. It goes to your phone on the plan."
        ),
    )
    notify_on_close = OptInField(
        _l("Should we text you when the request is closed?"),
        _l("Yes, text me when the request is closed"),
        description=_l(
            "The text says that help was sent and who will follow up. Only with the person’s "
            "consent: if you are family filing for an adult, it starts once the person has "
            "confirmed the plan."
        ),
    )
    follow_up_consent = OptInField(
        _l("Does the person agree to a follow-up call from a peer-support worker after a crisis?"),
        _l("Yes, the person agrees to a follow-up call"),
        description=_l("A peer-support worker calls in the days after a crisis to see how things are."),
    )

    person_born: date | None = None

    def fit_to_person(self, born: date | None) -> None:
        """Offer "parent of a child under 18" only when the date of birth says so."""
        self.person_born = born
        if born is not None and age_on(born, date.today()) >= ADULT_AGE:
            self.filed_by.choices = [choice for choice in FILED_BY_CHOICES if choice[0] != "parent"]

    def validate_filed_by(self, field: RadioField) -> None:
        if field.data not in dict(FILED_BY_CHOICES):
            raise ValidationError(_l("Choose who is filing this plan."))
        born = self.person_born
        if field.data == "parent" and born is not None and age_on(born, date.today()) >= ADULT_AGE:
            raise ValidationError(
                _l(
                    "The date of birth says the person is 18 or older. A parent of an adult files "
                    "as family, and the person is asked to confirm."
                )
            )

    def validate_guardian_statement(self, field: BooleanField) -> None:
        if self.filed_by.data == "guardian" and not field.data:
            raise ValidationError(_l("Confirm that a court made you the person’s legal guardian."))


class ReviewForm(FlaskForm):
    understood = BooleanField(
        _l("I have read what dispatch and officers will see, and how long the plan is kept.")
    )


def phone_field(label: Any, hint: Any) -> Any:
    """A phone number to text a code to: required, and a real, dialable number."""
    return StringField(
        label, validators=[DataRequired(message=_l("Enter a phone number.")), phone_number], description=hint
    )


class SignInForm(HoneypotMixin, FlaskForm):
    number = phone_field(_l("Phone number"), _l("The phone of the person, or of whoever filed the plan."))


class PhotoForm(FlaskForm):
    photo = FileField(
        _l("Photo"), description=_l("A photo from your phone or computer (JPEG, PNG or HEIC), at most 25 MB.")
    )


class ButtonForm(FlaskForm):
    """A button that only needs its CSRF token (renew, withdraw, remove a phone)."""


# The person a family member filed for: their phone, a new code, their answer.


class PersonPhoneForm(HoneypotMixin, FlaskForm):
    number = phone_field(_l("Your phone number"), _l("The phone that got the text message."))


class PersonNewCodeForm(PersonPhoneForm):
    number = phone_field(_l("Your phone number"), _l("Your own mobile phone."))


class PersonAnswerForm(FlaskForm):
    note = text(
        _l("A note for the family member who made the plan"),
        _l("What should change? They read it when they sign in. Dispatch does not see it."),
    )


@dataclass(frozen=True)
class Step:
    slug: str
    title: Any
    form: type[FlaskForm] | None  # None: a page of its own (phones)


STEPS = (
    Step("person", _l("About the person"), PersonForm),
    Step("where", _l("Where to find them"), WhereForm),
    Step("phones", _l("Phones"), None),
    Step("crisis", _l("In a crisis"), CrisisForm),
    Step("care", _l("Health care"), CareForm),
    Step("people", _l("Contacts"), PeopleForm),
    Step("consent", _l("CIT officer and consent"), ConsentForm),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}
FORM_STEPS = tuple(step for step in STEPS if step.form is not None)
