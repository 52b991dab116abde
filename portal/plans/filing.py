"""Filing or editing a crisis plan in short steps, each saved as a server-side draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from portal import ratelimit
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import BY_CODE, localized_route
from portal.phones import for_sentence
from portal.plans import bp, drafts
from portal.plans.codes import CodeCheck, check_code, explain, may_send_code, send_code
from portal.plans.forms import (
    AddPhoneForm,
    ButtonForm,
    CareForm,
    CodeForm,
    ConsentForm,
    CrisisForm,
    PeopleForm,
    PersonForm,
    PhotoForm,
    WhereForm,
)
from portal.plans.models import CrisisPlan, PlanDraft
from portal.plans.photos import MAX_BYTES, RefusedPhoto, clean_photo
from portal.plans.registrant import send_person_confirmation, sign_in_registrant
from portal.plans.services import file_plan, update_plan

PHOTOS_A_DAY = 20  # uploads one draft may try in a day


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
    Step("consent", _l("Send a CIT officer"), ConsentForm),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}
FORM_STEPS = tuple(step for step in STEPS if step.form is not None)


def neighbour(slug: str, offset: int) -> str | None:
    index = [step.slug for step in STEPS].index(slug) + offset
    return STEPS[index].slug if 0 <= index < len(STEPS) else None


def step_url(slug: str, **values: Any) -> str:
    if slug == "photo":
        return url_for("plans.photo", **values)
    if slug == "phones":
        return url_for("plans.phones", **values)
    return url_for("plans.step", slug=slug, **values)


def require_draft() -> PlanDraft:
    draft = drafts.current_draft()
    if draft is None:
        abort(redirect(url_for("plans.start")))
    return draft


def bot_posted() -> bool:
    return bool(request.form.get("website"))


def after_post(draft: PlanDraft, slug: str, valid: bool) -> ResponseReturnValue | None:
    """Where a step's buttons lead: another language, back, or on when the step is valid."""
    switch = request.form.get("switch_language")
    if switch in BY_CODE:
        return redirect(step_url(slug, lang_code=switch))
    if request.form.get("action") == "back":
        previous = "photo" if slug == "where" else neighbour(slug, -1)
        return redirect(step_url(previous) if previous else url_for("plans.start"))
    if valid:
        following = "photo" if slug == "person" else neighbour(slug, 1)
        return redirect(step_url(following)) if following else None
    return None


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
        **context,
    )


@localized_route(bp, "/crisis-plan/start", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    form = ButtonForm()
    draft = drafts.current_draft()
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        if not ratelimit.allow(f"start:{request.remote_addr}", limit=10, window_seconds=3600):
            abort(429)
        if draft is None or request.form.get("action") == "new":
            if draft is not None:
                drafts.discard(draft)
            draft = drafts.start_draft()
        return redirect(step_url("person"))
    return render_template("plans/start.html", form=form, draft=draft)


@localized_route(
    bp, "/crisis-plan/step/<any(person,where,crisis,care,people,consent):slug>", methods=["GET", "POST"]
)
def step(slug: str) -> ResponseReturnValue:
    draft = require_draft()
    form_class = STEP_BY_SLUG[slug].form
    if form_class is None:
        abort(404)
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        form = form_class()
        drafts.save_answers(draft, slug, request.form)
        valid = request.form.get("action") == "next" and form.validate()
        if valid and slug == "consent":
            return finish(draft)
        response = after_post(draft, slug, valid)
        if response is not None:
            return response
    else:
        form = form_class(formdata=drafts.saved_formdata(draft, slug))
        if request.args.get("review"):
            form.validate()  # show what is missing after a refused "File the plan"
    return render_step(slug, draft, form=form, page_title=STEP_BY_SLUG[slug].title)


@localized_route(bp, "/crisis-plan/step/photo", methods=["GET", "POST"])
def photo() -> ResponseReturnValue:
    draft = require_draft()
    form = PhotoForm()
    if request.method == "POST":
        response = after_post(draft, "photo", valid=False)
        if response is not None:
            return response
        if request.form.get("action") == "remove":
            draft.photo_jpeg = None
            db.session.commit()
            return redirect(step_url("photo"))
        if request.form.get("action") == "next":
            return redirect(step_url("where"))
        upload = request.files.get("photo")
        if not upload or not upload.filename:
            form.photo.errors = [_("Choose a photo to upload.")]
        elif not ratelimit.allow(f"photo:{draft.id}", limit=PHOTOS_A_DAY, window_seconds=86400):
            # Each photo is decoded in the web process: a draft gets a bounded number of tries.
            form.photo.errors = [_("Too many photos were uploaded. Please try again tomorrow.")]
        else:
            try:
                # One byte over the limit is enough to tell "too big".
                draft.photo_jpeg = clean_photo(upload.read(MAX_BYTES + 1))
            except RefusedPhoto:
                form.photo.errors = [
                    _("This file cannot be used. Choose a JPEG or PNG photo of at most 5 MB.")
                ]
            else:
                db.session.commit()
                flash(_("The photo was saved."), "success")
                return redirect(step_url("photo"))
    return render_step("photo", draft, form=form, page_title=_("Photo"))


@bp.get("/crisis-plan/step/photo/image")
def photo_image() -> ResponseReturnValue:
    draft = require_draft()
    if draft.photo_jpeg is None:
        abort(404)
    return Response(draft.photo_jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@localized_route(bp, "/crisis-plan/step/phones", methods=["GET", "POST"])
def phones() -> ResponseReturnValue:
    draft = require_draft()
    add_form = AddPhoneForm(prefix="add")
    code_form = CodeForm(prefix="verify")
    listed: list[dict[str, Any]] = list(draft.answers.get("phones", []))
    pending = None  # the phone whose code was just refused
    if request.method == "POST":
        if bot_posted():
            return redirect(url_for("plans.start"))
        response = after_post(draft, "phones", valid=request.form.get("action") == "next")
        if response is not None:
            return response
        action = request.form.get("action", "")
        if action == "add" and add_form.validate():
            number = add_form.number.data
            if any(phone["number"] == number for phone in listed):
                add_form.number.errors = [_("This number is already on the list.")]
            elif send_code_or_explain(number, add_form):
                listed.append({"number": number, "role": add_form.role.data, "verified": False})
                save_phones(draft, listed)
                flash(_("We sent a code to %(number)s.", number=for_sentence(number)), "success")
                return redirect(step_url("phones"))
        elif action.startswith(("verify:", "resend:", "remove:")):
            verb, _sep, position = action.partition(":")
            if not position.isdigit() or int(position) >= len(listed):
                return redirect(step_url("phones"))
            phone = listed[int(position)]
            if verb == "remove":
                listed.pop(int(position))
                save_phones(draft, listed)
                return redirect(step_url("phones"))
            if verb == "resend":
                if send_code_or_explain(phone["number"], code_form.code):
                    db.session.commit()
                    flash(
                        _("We sent a new code to %(number)s.", number=for_sentence(phone["number"])),
                        "success",
                    )
                    return redirect(step_url("phones"))
            elif code_form.validate():
                result = check_code(phone["number"], "verify", code_form.code.data)
                if result is CodeCheck.ACCEPTED:
                    phone["verified"] = True
                    save_phones(draft, listed)
                    flash(_("%(number)s is verified.", number=for_sentence(phone["number"])), "success")
                    return redirect(step_url("phones"))
                code_form.code.errors = [explain(result)]
            pending = int(position)
    return render_step(
        "phones",
        draft,
        add_form=add_form,
        code_form=code_form,
        pending=pending,
        listed=[dict(phone, display=for_sentence(phone["number"])) for phone in listed],
        page_title=STEP_BY_SLUG["phones"].title,
    )


def save_phones(draft: PlanDraft, listed: list[dict[str, Any]]) -> None:
    draft.answers = {**draft.answers, "phones": listed}
    draft.updated_at = utcnow()
    db.session.commit()


def send_code_or_explain(number: str, error_target: Any) -> bool:
    """Queue a verification code unless this phone or this visitor asked too often."""
    field = getattr(error_target, "number", error_target)
    if not may_send_code(number, request.remote_addr):
        field.errors = [_("Too many codes were asked for. Please try again in an hour.")]
        return False
    send_code(number, "verify", _("Call for the Pin: your code is {code}. It works for 10 minutes."))
    return True


def cleaned(form: FlaskForm) -> dict[str, Any]:
    data = {key: value for key, value in form.data.items() if key not in ("csrf_token", "website")}
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()}


def finish(draft: PlanDraft) -> ResponseReturnValue:
    """File the plan (or save the edited one) once every step is valid."""
    details: dict[str, Any] = {}
    for step_info in FORM_STEPS:
        if step_info.form is None:
            continue
        form = step_info.form(
            formdata=drafts.saved_formdata(draft, step_info.slug) or MultiDict(), meta={"csrf": False}
        )
        if not form.validate():
            flash(_("Some answers are missing. Please check this step."), "error")
            return redirect(step_url(step_info.slug, review=1))
        details[step_info.slug] = cleaned(form)
    verified = [(p["number"], p["role"]) for p in draft.answers.get("phones", []) if p["verified"]]
    if not any(role in ("person", "filer") for _number, role in verified):
        flash(
            _("Add and verify your phone or the person’s phone, so you can sign in to the plan later."),
            "error",
        )
        return redirect(step_url("phones"))

    consent = details.pop("consent")
    person = details["person"]
    options = {
        "name": person["name"],
        "born": date.fromisoformat(person["birth_date"]),
        "language": consent["language"],
        "cit_requested": consent["cit_requested"],
        "filed_by": consent["filed_by"],
        "phones": verified,
        "photo_jpeg": draft.photo_jpeg,
    }
    if draft.plan_id is not None:
        plan = db.session.get_one(CrisisPlan, draft.plan_id)
        update_plan(plan, details, **options)
    else:
        plan = file_plan(details, **options)
    db.session.flush()
    if plan.person_confirmed_at is None:
        send_person_confirmation(plan)
    db.session.commit()
    sign_in_registrant(plan)
    drafts.discard(draft)
    flash(_("The crisis plan is saved."), "success")
    return redirect(url_for("plans.overview"))
