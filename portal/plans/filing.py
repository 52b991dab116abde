"""Filing or editing a crisis plan in short steps, each saved as a server-side draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from portal import ratelimit
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import BY_CODE, current_language, localized_route
from portal.phones import for_display, for_sentence
from portal.plans import bp, drafts, sessions
from portal.plans.codes import CodeCheck, check_code, explain, may_send_code, send_code
from portal.plans.consent import send_person_confirmation, viewer_is_person
from portal.plans.display import draft_sections, photo_uri
from portal.plans.forms import (
    FORM_STEPS,
    STEP_BY_SLUG,
    STEPS,
    TEXT_CHOICES,
    AddPhoneForm,
    ButtonForm,
    CodeForm,
    ConsentForm,
    PhotoForm,
    ReviewForm,
)
from portal.plans.models import CrisisPlan, PlanDraft
from portal.plans.photos import MAX_BYTES, RefusedPhoto, clean_photo
from portal.plans.registrant import sign_in_registrant
from portal.plans.services import file_plan, update_plan

PHOTOS_A_DAY = 20  # uploads one draft may try in a day


# The sections a registrant can change on their own from the plan page.
SECTIONS = ("person", "photo", "where", "phones", "crisis", "care", "people", "consent")


def neighbour(slug: str, offset: int) -> str | None:
    index = [step.slug for step in STEPS].index(slug) + offset
    return STEPS[index].slug if 0 <= index < len(STEPS) else None


def step_args() -> dict[str, str]:
    """The query string a step passes on to the next (back to the review page), and
    nothing else: url_for would take "slug" or "_external" from a visitor's URL."""
    return {key: request.args[key] for key in ("then", "review") if key in request.args}


def step_url(slug: str, **values: Any) -> str:
    if slug == "photo":
        return url_for("plans.photo", **values)
    if slug == "phones":
        return url_for("plans.phones", **values)
    if slug == "review":
        return url_for("plans.review", **values)
    return url_for("plans.step", slug=slug, **values)


def require_draft() -> PlanDraft:
    draft = drafts.current_draft()
    if draft is None:
        abort(redirect(url_for("plans.start")))
    return draft


def bot_posted() -> bool:
    return bool(request.form.get("website"))


def after_post(draft: PlanDraft, slug: str, valid: bool) -> ResponseReturnValue | None:
    """Where a step's buttons lead: another language, back, or on when the step is valid.

    Editing a saved plan, a valid step is saved at once; from "check your answers", a
    changed step leads back there.
    """
    returning = request.args.get("then") == "review"
    switch = request.form.get("switch_language")
    if switch in BY_CODE:
        return redirect(step_url(slug, lang_code=switch, **({"then": "review"} if returning else {})))
    if request.form.get("action") == "back":
        if returning:
            return redirect(step_url("review"))
        previous = {"where": "photo", "photo": "person"}.get(slug) or neighbour(slug, -1)
        return redirect(step_url(previous) if previous else url_for("plans.start"))
    if not valid:
        return None
    if draft.plan_id is not None:
        return save_edit(draft)
    if returning:
        return redirect(step_url("review"))
    following = {"person": "photo", "photo": "where"}.get(slug) or neighbour(slug, 1)
    return redirect(step_url(following or "review"))


def render_step(slug: str, draft: PlanDraft, **context: Any) -> str:
    current = "person" if slug == "photo" else slug
    template = f"plans/step_{slug}.html" if slug in ("photo", "phones") else "plans/step.html"
    return render_template(
        template,
        steps=STEPS,
        current_step=current,
        step_number=[step.slug for step in STEPS].index(current) + 1,
        draft=draft,
        editing=draft.plan_id is not None,
        returning=request.args.get("then") == "review",
        **context,
    )


@localized_route(bp, "/crisis-plan/start", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    form = ButtonForm()
    draft = drafts.current_draft()
    if draft is not None and draft.plan_id is not None:
        draft = None  # an edit of a saved plan is continued from the plan page
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        if not ratelimit.allow(f"start:{request.remote_addr}", limit=10, window_seconds=3600):
            abort(429)
        action = request.form.get("action")
        if draft is not None and action == "new" and not request.form.get("confirmed"):
            # Starting over deletes every saved answer: asked once more, never by one tap.
            return render_template("plans/start.html", form=form, draft=draft, confirm_new=True)
        if draft is None or action == "new":
            if draft is not None:
                drafts.discard(draft)
            draft = drafts.start_draft()
            return redirect(step_url("person"))
        return redirect(step_url(resume_step(draft)))
    return render_template("plans/start.html", form=form, draft=draft)


def resume_step(draft: PlanDraft) -> str:
    """Where a family left off: the first step with nothing saved yet."""
    for slug in ("person", "where", "phones", "crisis", "care", "people", "consent"):
        if not draft.answers.get(slug):
            return slug
    return "review"


def person_born(draft: PlanDraft) -> date | None:
    """The date of birth typed on the first step, if it is a date."""
    raw = (draft.answers.get("person") or {}).get("birth_date") or [""]
    try:
        return date.fromisoformat(raw[0])
    except ValueError:
        return None


def step_form(slug: str, draft: PlanDraft, formdata: MultiDict[str, str] | None, **options: Any) -> FlaskForm:
    form_class = STEP_BY_SLUG[slug].form
    if form_class is None:
        abort(404)
    form = form_class(formdata=formdata, **options)
    if isinstance(form, ConsentForm):
        form.fit_to_person(person_born(draft))
        if formdata is None:
            form.language.data = current_language().code
    return form


@localized_route(
    bp, "/crisis-plan/step/<any(person,where,crisis,care,people,consent):slug>", methods=["GET", "POST"]
)
def step(slug: str) -> ResponseReturnValue:
    draft = require_draft()
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        form = step_form(slug, draft, request.form)
        drafts.save_answers(draft, slug, request.form)
        valid = request.form.get("action") == "next" and form.validate()
        response = after_post(draft, slug, valid)
        if response is not None:
            return response
    else:
        form = step_form(slug, draft, drafts.saved_formdata(draft, slug))
        if request.args.get("review"):
            form.validate()  # show what is missing after a refused "File the plan"
    return render_step(slug, draft, form=form, page_title=STEP_BY_SLUG[slug].title)


def too_big_message() -> str:
    return str(_("This photo is larger than 25 MB. Choose a smaller one, or a screenshot of it."))


@localized_route(bp, "/crisis-plan/step/photo", methods=["GET", "POST"])
def photo() -> ResponseReturnValue:
    draft = require_draft()
    form = PhotoForm()
    if request.method == "POST":
        action = request.form.get("action")
        if action == "remove":
            draft.photo_jpeg = None
            db.session.commit()
            return redirect(step_url("photo", **step_args()))
        upload = request.files.get("photo")
        if upload and upload.filename:
            # Whichever button was pressed, a chosen photo is uploaded, never dropped.
            error = store_photo(draft, upload.read(MAX_BYTES + 1))
            if error:
                form.photo.errors = [error]
            elif action == "upload":
                flash(_("The photo was saved."), "success")
                return redirect(step_url("photo", **step_args()))
        elif action == "upload":
            form.photo.errors = [_("Choose a photo to upload.")]
        if not form.photo.errors:
            response = after_post(draft, "photo", valid=action == "next")
            if response is not None:
                return response
    return render_step("photo", draft, form=form, page_title=_("Photo"))


def store_photo(draft: PlanDraft, data: bytes) -> str | None:
    """Clean and keep a chosen photo; the message to show when it cannot be used."""
    if not ratelimit.allow(f"photo:{draft.id}", limit=PHOTOS_A_DAY, window_seconds=86400):
        # Each photo is decoded in the web process: a draft gets a bounded number of tries.
        return str(_("Too many photos were uploaded. Please try again tomorrow."))
    if len(data) > MAX_BYTES:
        return too_big_message()
    try:
        draft.photo_jpeg = clean_photo(data)
    except RefusedPhoto:
        return str(_("This file is not a photo we can use. Choose a JPEG, PNG or HEIC photo."))
    draft.updated_at = utcnow()
    db.session.commit()
    return None


@bp.errorhandler(RequestEntityTooLarge)
def _too_big(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A photo over the request limit: the photo step again, with the message."""
    if request.endpoint != "plans.photo":
        return error
    draft = require_draft()
    form = PhotoForm(formdata=None, meta={"csrf": False})
    form.photo.errors = [too_big_message()]
    return render_step("photo", draft, form=form, page_title=_("Photo")), 413


@bp.get("/crisis-plan/step/photo/image")
def photo_image() -> ResponseReturnValue:
    draft = require_draft()
    if draft.photo_jpeg is None:
        abort(404)
    return Response(draft.photo_jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@localized_route(bp, "/crisis-plan/step/phones", methods=["GET", "POST"])
def phones() -> ResponseReturnValue:
    draft = require_draft()
    typed = MultiDict(draft.answers.get("phone_typed") or {})
    add_form = AddPhoneForm(
        prefix="add", formdata=request.form if request.method == "POST" else typed or None
    )
    code_form = CodeForm(prefix="verify")
    listed: list[dict[str, Any]] = list(draft.answers.get("phones", []))
    pending = None  # the phone whose code was just refused
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        action = request.form.get("action", "")
        # A number typed but not yet added is kept through "Back" and a language switch.
        drafts.keep_answers(
            draft, "phone_typed", {k: request.form.getlist(k) for k in ("add-number", "add-role")}
        )
        typed_number = bool((add_form.number.data or "").strip())
        if action == "add" or (action == "next" and typed_number):
            # "Continue" with a number typed adds it, as "Send a code" would.
            if add_phone(draft, listed, add_form):
                return redirect(step_url("phones", **step_args()))
        elif action.startswith(("verify:", "resend:", "remove:")):
            response, pending = phone_action(draft, listed, action, code_form)
            if response is not None:
                return response
        else:
            waiting = unverified_phone(listed) if action == "next" else None
            if waiting is not None:
                # Only verified phones go on a plan: say so rather than drop one silently.
                pending = waiting
                code_form.code.errors = [
                    _(
                        "%(number)s is not verified yet. Enter the code we sent to it, or remove it.",
                        number=for_sentence(listed[waiting]["number"]),
                    )
                ]
            else:
                response = after_post(draft, "phones", valid=action == "next")
                if response is not None:
                    return response
    return render_step(
        "phones",
        draft,
        add_form=add_form,
        code_form=code_form,
        pending=pending,
        listed=[dict(phone, display=for_sentence(phone["number"])) for phone in listed],
        page_title=STEP_BY_SLUG["phones"].title,
    )


def unverified_phone(listed: list[dict[str, Any]]) -> int | None:
    """The first listed phone still waiting for its code, other than the person's own
    (a family member filing may not have the person beside them: see collect)."""
    return next(
        (at for at, phone in enumerate(listed) if not phone["verified"] and phone["role"] != "person"), None
    )


def add_phone(draft: PlanDraft, listed: list[dict[str, Any]], add_form: AddPhoneForm) -> bool:
    """Add the typed phone and text it a code; False (with the error on the form) if not."""
    if not add_form.validate():
        return False
    number = add_form.number.data
    if any(phone["number"] == number for phone in listed):
        add_form.number.errors = [_("This number is already on the list.")]
        return False
    if not send_code_or_explain(number, add_form):
        return False
    listed.append({"number": number, "role": add_form.role.data, "verified": False})
    save_phones(draft, listed)
    drafts.keep_answers(draft, "phone_typed", {})
    flash(_("We sent a code to %(number)s. Enter it below.", number=for_sentence(number)), "success")
    return True


def phone_action(
    draft: PlanDraft, listed: list[dict[str, Any]], action: str, code_form: CodeForm
) -> tuple[ResponseReturnValue | None, int | None]:
    """Verify, resend or remove a listed phone: a redirect, or the phone whose code failed."""
    verb, _sep, position = action.partition(":")
    if not position.isdigit() or int(position) >= len(listed):
        return redirect(step_url("phones", **step_args())), None
    phone = listed[int(position)]
    if verb == "remove":
        listed.pop(int(position))
        save_phones(draft, listed)
        return redirect(step_url("phones", **step_args())), None
    if verb == "resend":
        if send_code_or_explain(phone["number"], code_form.code):
            db.session.commit()
            flash(_("We sent a new code to %(number)s.", number=for_sentence(phone["number"])), "success")
            return redirect(step_url("phones", **step_args())), None
    elif code_form.validate():
        result = check_code(phone["number"], "verify", code_form.code.data)
        if result is CodeCheck.ACCEPTED:
            phone["verified"] = True
            save_phones(draft, listed)
            flash(_("%(number)s is verified.", number=for_sentence(phone["number"])), "success")
            return redirect(step_url("phones", **step_args())), None
        code_form.code.errors = [explain(result)]
    return None, int(position)


def save_phones(draft: PlanDraft, listed: list[dict[str, Any]]) -> None:
    drafts.keep_answers(draft, "phones", listed)


def send_code_or_explain(number: str, error_target: Any) -> bool:
    """Queue a verification code unless this phone or this visitor asked too often."""
    field = getattr(error_target, "number", error_target)
    if not may_send_code(number, request.remote_addr):
        field.errors = [_("Too many codes were asked for. Please try again in an hour.")]
        return False
    send_code(
        number,
        "verify",
        # Translators: a text message (SMS), kept short; keep {code} exactly.
        _(
            "This phone is being added to a crisis plan. The code is {code} "
            "(10 minutes). If you did not ask for it, ignore this text."
        ),
    )
    return True


def cleaned(form: FlaskForm) -> dict[str, Any]:
    data = {key: value for key, value in form.data.items() if key not in ("csrf_token", "website")}
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()}


@dataclass
class Filing:
    """A draft's answers, checked and ready to become (or replace) a plan."""

    details: dict[str, Any]
    consent: dict[str, Any]
    phones: list[tuple[str, str]]  # verified (E.164, role)

    @property
    def cit_requested(self) -> bool:
        return bool(self.consent["cit_requested"] == "yes")

    @property
    def text_choices(self) -> dict[str, bool]:
        """The plan's text and follow-up choices (TEXT_CHOICES): yes only when chosen."""
        return {name: self.consent.get(name) == "yes" for name in TEXT_CHOICES}


# What the person agrees to when they confirm a plan filed by family: a family member
# turning one of these on afterwards is theirs to see again (see file_or_save).
PERSON_CONSENTS = ("notify_on_close", "follow_up_consent")


def text_choice_answers(plan: CrisisPlan) -> dict[str, list[str]]:
    """A saved plan's text choices as the consent step posts them."""
    return {name: ["yes" if getattr(plan, name) else "no"] for name in TEXT_CHOICES}


def collect(draft: PlanDraft) -> Filing | ResponseReturnValue:
    """Every step checked; or a redirect to the first step that needs an answer."""
    details: dict[str, Any] = {}
    for step_info in FORM_STEPS:
        form = step_form(
            step_info.slug,
            draft,
            drafts.saved_formdata(draft, step_info.slug) or MultiDict(),
            meta={"csrf": False},
        )
        if not form.validate():
            flash(_("Some answers are missing. Please check this step."), "error")
            return redirect(step_url(step_info.slug, review=1))
        details[step_info.slug] = cleaned(form)
    listed = draft.answers.get("phones", [])
    verified = [(p["number"], p["role"]) for p in listed if p["verified"]]
    if not any(role in ("person", "filer") for _number, role in verified):
        flash(
            _("Add and verify your phone or the person’s phone, so you can sign in to the plan later."),
            "error",
        )
        return redirect(step_url("phones"))
    consent = details.pop("consent")
    if consent["filed_by"] == "family":
        # The person is rarely beside the family member who files: their phone is kept,
        # "pending", and texted the confirmation code, which verifies it when they answer.
        verified += [(p["number"], "pending") for p in listed if not p["verified"] and p["role"] == "person"]
    return Filing(details=details, consent=consent, phones=verified)


def needs_acknowledgement(draft: PlanDraft, filing: Filing) -> bool:
    """A new plan is acknowledged once. An edit asks again only when it changes what
    the acknowledgement is about: whether a CIT officer is asked for, who filed, or
    which phones make dispatch see the plan."""
    if draft.plan_id is None:
        return True
    plan = db.session.get_one(CrisisPlan, draft.plan_id)
    return (
        plan.cit_requested != filing.cit_requested
        or plan.filed_by != filing.consent["filed_by"]
        or not {number for number, _role in filing.phones} <= {phone.number for phone in plan.phones}
    )


def save_edit(draft: PlanDraft) -> ResponseReturnValue:
    """A changed section of a saved plan: saved now, unless it needs the acknowledgement."""
    filing = collect(draft)
    if not isinstance(filing, Filing):
        return filing
    if needs_acknowledgement(draft, filing):
        return redirect(step_url("review"))
    return file_or_save(draft, filing)


def file_or_save(draft: PlanDraft, filing: Filing) -> ResponseReturnValue:
    person = filing.details["person"]
    options = {
        "name": person["name"],
        "born": date.fromisoformat(person["birth_date"]),
        "language": filing.consent["language"],
        "cit_requested": filing.cit_requested,
        "filed_by": filing.consent["filed_by"],
        "phones": filing.phones,
        "photo_jpeg": draft.photo_jpeg,
    }
    ask_person = False
    if draft.plan_id is not None:
        plan = db.session.get_one(CrisisPlan, draft.plan_id)
        changed = (plan.details, plan.cit_requested, plan.photo.jpeg if plan.photo else None) != (
            filing.details,
            filing.cit_requested,
            draft.photo_jpeg,
        ) or any(filing.text_choices[name] and not getattr(plan, name) for name in PERSON_CONSENTS)
        update_plan(plan, filing.details, **options)
        message = _("Your changes are saved.")
        # The person agreed to what they read: a family member's change is theirs to see again.
        if plan.filed_by == "family" and plan.person_confirmed_at and changed and not viewer_is_person(plan):
            plan.person_confirmed_at = None
            ask_person = True
            message = _(
                "Your changes are saved. We text the person so they can see the changed plan and decide."
            )
    else:
        plan = file_plan(filing.details, **options)
        message = _("The crisis plan is filed.")
        ask_person = plan.person_confirmed_at is None
    for name, chosen in filing.text_choices.items():
        setattr(plan, name, chosen)
    db.session.flush()
    if ask_person:
        send_person_confirmation(plan)
    db.session.commit()
    if draft.plan_id is None:
        sign_in_registrant(plan)
    drafts.discard(draft)
    flash(message, "success")
    return redirect(url_for("plans.overview"))


@localized_route(bp, "/crisis-plan/review", methods=["GET", "POST"])
def review() -> ResponseReturnValue:
    """Check your answers: every section with a "Change" link, then file (or save)."""
    draft = require_draft()
    filing = collect(draft)
    if not isinstance(filing, Filing):
        return filing
    form = ReviewForm()
    asked = needs_acknowledgement(draft, filing)
    if form.validate_on_submit():
        if not asked or form.understood.data:
            return file_or_save(draft, filing)
        form.understood.errors = [_("Please confirm you have read this.")]
    listed = draft.answers.get("phones", [])
    return render_template(
        "plans/review.html",
        form=form,
        draft=draft,
        editing=draft.plan_id is not None,
        asked=asked,
        sections=draft_sections(draft),
        phones=[(for_display(phone["number"]), phone) for phone in listed],
        photo_uri=photo_uri(draft.photo_jpeg),
        change_link=lambda slug: step_url(slug, then="review"),
        person_phone_missing=filing.consent["filed_by"] == "family"
        and not any(role in ("person", "pending") for _number, role in filing.phones),
        family_files=filing.consent["filed_by"] == "family",
        page_title=_("Check your answers"),
    )


@localized_route(bp, "/crisis-plan/change/<any(" + ",".join(SECTIONS) + "):section>", methods=["POST"])
def change(section: str) -> ResponseReturnValue:
    """From the plan page: change one section of the saved plan, and save just that."""
    plan_id = sessions.signed_in_plan_id()
    if plan_id is None:
        return redirect(url_for("plans.sign_in"))
    if not ButtonForm().validate_on_submit():
        abort(400)
    draft = drafts.current_draft()
    if draft is None or draft.plan_id != plan_id:
        plan = db.session.get_one(CrisisPlan, plan_id)
        draft = drafts.start_draft(plan)
        # The draft starts from the plan's answers; its text choices are columns of their own.
        drafts.keep_answers(
            draft, "consent", {**draft.answers.get("consent", {}), **text_choice_answers(plan)}
        )
    return redirect(step_url(section))
