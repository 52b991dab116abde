"""Fuzzing every form and the SMS webhook with Hypothesis, on the real app, CSRF on.

Two properties hold for whatever is posted (any Unicode without surrogates: NUL, RTL
marks, emoji, very long text; huge bodies; fields missing or repeated; odd query
strings): the answer is never a 5xx, and no page ever holds a marker such as
`<x-fuzz>` or `"><script>` unescaped, neither the answer nor the pages it redirects to,
nor the pages that show what was stored (the draft, the plan, the console).
The webhook answers a correctly signed call 2xx or 4xx, and a badly signed one 403.

HYPOTHESIS_PROFILE picks the number of examples: "ci" (the default: about 15 s of
processor time for this file, 20 examples for a test of average cost) or "soak"
(`make soak`: 20 times as many, about 10 minutes on two cores).
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from PIL import Image
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse
from wtforms import BooleanField, DateField, SelectFieldBase, SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Length

from portal import create_app
from portal.console import forms as console_forms
from portal.console.accounts import new_setup_link
from portal.console.admin_views import AuditFilterForm
from portal.console.models import ConsoleUser
from portal.console.reports import ReportForm
from portal.dispatch.models import CitRequest
from portal.dispatch.texts import DISPATCHER_REPLIES
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.messaging.outbox import OutboundMessage
from portal.plans import forms as plan_forms
from portal.plans.models import CrisisPlan
from portal.plans.services import file_plan
from portal.sms.webhook import webhook_auth_token
from tests.conftest import make_environ
from tests.console_helpers import PASSWORD, make_user, sign_in

# Profiles -------------------------------------------------------------------------------

COMMON: dict[str, Any] = {
    "deadline": None,
    "print_blob": True,
    # The app and its signed-in clients are built once per module: examples share them.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    "database": DirectoryBasedExampleDatabase(
        str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "hypothesis")
    ),
}
# "ci" reports a failing example as found, unshrunk: shrinking one that walks a whole
# filing can take minutes. "soak" shrinks it to its simplest form.
settings.register_profile(
    "ci", max_examples=20, phases=[Phase.explicit, Phase.reuse, Phase.generate], **COMMON
)
settings.register_profile("soak", max_examples=400, **COMMON)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def budget(share: float) -> settings:
    """This test's examples: its share of the profile's number (cheap tests run more)."""
    return settings(PROFILE, max_examples=max(3, round(PROFILE.max_examples * share)))


# What is typed ---------------------------------------------------------------------------

MARKERS = ("<x-fuzz>", '"><script>')
NASTY = (
    "\x00",
    "\u200f",  # right-to-left mark
    "\u200e",
    "\u202e",  # right-to-left override
    "\u2066",
    "\u2069",
    "\ufeff",
    "\u2028",
    "\u00a0",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x7f",
    "\u0301",
    "😀",
    "👩🏽‍⚕️",
    "🇺🇸",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "ﷺ",
    "Ⅻ",
    "²",
    "٣٤٥",
    "\U0010ffff",
    "\ufffd",
    "%s",
    "%(name)s",
    "{code}",
    "{0}",
    "{{ 7*7 }}",
    "{% raw %}",
    "&amp;",
    "&#60;",
    "]]>",
    "<!--",
    "\\",
    "'",
    '"',
    "`",
    "javascript:alert(1)",
    "PIN ",
    "STOP",
)
# Any character UTF-8 can carry (no surrogates); NUL only now and then, through NASTY,
# as every request holding one is refused whole (portal/security.py).
CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
PIECE = st.one_of(st.text(CHARACTERS, max_size=30), st.sampled_from(NASTY), st.sampled_from(MARKERS))
TEXT = st.lists(PIECE, max_size=5).map("".join)
# Past every length limit, and past the form parser's 500 kB for a field now and then.
LONG = st.tuples(PIECE.filter(bool), st.integers(100, 60_000)).map(lambda t: (t[0] * t[1])[:200_000])
VALUE = st.one_of(TEXT, LONG, st.lists(TEXT, min_size=2, max_size=3))
DATES = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-30", "0000-00-00", "1990-5-17", "17/05/1990", ""]),
    TEXT,
)
PHONES = st.one_of(
    st.from_regex(r"\(314\) 555-01[0-9]{2}", fullmatch=True),
    st.sampled_from(
        [
            "+13145550100",
            "314.555.0133",
            "+442079460000",
            "+1 900 555 0100",
            "555-1234",
            "+999",
            "+",
            "٣١٤٥٥٥٠١٠٠",
        ]
    ),
    TEXT,
)
CODES = st.one_of(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.sampled_from(["٥٦٧٦٤٦", "567 646", "²²²²²²", "0000000", "-12345"]),
    TEXT,
)
BIG_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["²", "٣", "1e9", "0x10", " 7"]),
    st.integers(4000, 5000).map(lambda digits: "9" * digits),  # past int()'s 4,300 digits
)
LANGUAGE_CODES = [language.code for language in LANGUAGES]
# Query strings on the form pages: the names the views read (some of them url_for's own).
QUERY_NAMES = st.sampled_from(
    ["then", "review", "lang_code", "_external", "_scheme", "_anchor", "_method", "slug"]
)
QUERY = st.dictionaries(
    st.one_of(QUERY_NAMES, QUERY_NAMES, QUERY_NAMES, TEXT),  # mostly the names read
    st.one_of(st.sampled_from(["review", "1", "es", "xx", "https"]), TEXT),
    max_size=2,
)
LANGUAGE_PREFIX = st.sampled_from(["", "/es", "/ar", "/zh"])


def merged(parts: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """Twilio's or the form's fields over the extra ones."""
    return {**parts[1], **parts[0]}


def extras(names: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Fields nobody asked for: the views' own button names, or any name at all."""
    return st.dictionaries(st.one_of(st.sampled_from(names or ("x",)), TEXT), VALUE, max_size=2)


def form_fields(form_class: type, prefix: str = "", **chosen: Any) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per field of a WTForms class, read from the class itself: valid choices
    or dates now and then, anything at all otherwise; `chosen` overrides a field."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        key = f"{prefix}-{name}" if prefix else name
        field_class = unbound.field_class
        choices = unbound.kwargs.get("choices")
        if name in chosen:
            fields[key] = chosen[name]
        elif name == "website":  # the honeypot: filled in by bots only
            fields[key] = st.sampled_from(["", "", "", "http://spam.example"])
        elif choices and issubclass(field_class, SelectFieldBase):
            one = st.one_of(st.sampled_from([value for value, _label in choices]), TEXT)
            many = issubclass(field_class, SelectMultipleField)
            fields[key] = st.lists(one, max_size=4) if many else one
        elif issubclass(field_class, DateField):
            fields[key] = DATES
        elif issubclass(field_class, BooleanField):
            fields[key] = st.one_of(st.sampled_from(["y", ""]), TEXT)
        elif field_class.__name__ == "FileField":
            continue
        else:
            fields[key] = VALUE
    return fields


def form_data(
    fields: Mapping[str, st.SearchStrategy[Any]], names: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Any of the fields, each present or missing, and perhaps a few more."""
    return st.tuples(st.fixed_dictionaries({}, optional=dict(fields)), extras(names)).map(merged)


# How a token is sent: mostly the right one, so that the views' own code runs.
CSRF_MODES = st.sampled_from(["valid", "valid", "valid", "valid", "missing", "wrong"])

# Checking answers --------------------------------------------------------------------------

CSRF = re.compile(r'name="([\w-]*csrf_token)" (?:type="hidden" )?value="([^"]+)"')
TOKEN_NAMES = (
    "csrf_token",
    "add-csrf_token",
    "verify-csrf_token",
    "phone-csrf_token",
    "confirm-csrf_token",
    "again-csrf_token",
)
# Pages and TwiML; a CSV export or JSON is no markup, its text is not read as tags.
CHECKED_TYPES = ("text/html", "application/xml", "text/xml")


def check(response: TestResponse, what: str) -> str:
    """Never a 5xx; never a marker unescaped. Returns the page."""
    assert response.status_code < 500, f"{what}: HTTP {response.status_code}"
    page = response.get_data(as_text=True) if response.mimetype in CHECKED_TYPES else ""
    for marker in MARKERS:
        at = page.find(marker)
        assert at < 0, f"{what}: {marker!r} unescaped in the answer: …{page[max(0, at - 160) : at + 60]!r}…"
    return page


def visit(client: FlaskClient, response: TestResponse, what: str) -> TestResponse:
    """Check an answer and the pages its redirects lead to (flashed messages show there)."""
    check(response, what)
    for _hop in range(4):
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        location = urlsplit(response.headers["Location"])
        if location.netloc not in ("", "localhost"):
            break
        path = location.path + (f"?{location.query}" if location.query else "")
        response = client.get(path)
        check(response, f"{what} → GET {path}")
    return response


def tokens(client: FlaskClient, page: str) -> str:
    """The session's CSRF token, read from a form page (also checked) as a browser would."""
    for path in (page, "/crisis-plan/sign-in"):
        response = client.get(path)
        found = CSRF.findall(check(response, f"GET {path}"))
        if found:
            return str(found[0][1])
    raise AssertionError(f"no CSRF token on {page}")


def post(
    client: FlaskClient,
    path: str,
    data: Mapping[str, Any],
    *,
    page: str | None = None,
    csrf: str = "valid",
    query: Mapping[str, str] | None = None,
    **options: Any,
) -> TestResponse:
    """Post a form as a browser would (the token from the form page), and check every
    answer on the way."""
    token = tokens(client, page or path)
    sent = dict.fromkeys(TOKEN_NAMES, token) if csrf == "valid" else {}
    if csrf == "wrong":
        sent = {"csrf_token": token[::-1]}
    response = client.post(path, data={**sent, **data}, query_string=dict(query or {}), **options)
    return visit(client, response, f"POST {path} {sorted(data)}")


_addresses = itertools.count(1)


def new_visitor(client: FlaskClient) -> None:
    """Another client address, so that per-visitor rate limits leave the views running."""
    n = next(_addresses)
    client.environ_base["REMOTE_ADDR"] = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


# Fictional numbers, one per use: ten codes an hour go to one phone.
_numbers = (
    f"({area}) 555-01{n:02d}"
    for area in (636, 618, 417, 816, 573, 660, 212, 312, 415, 503, 602, 702, 808, 907, 202)
    for n in range(100)
)


def fresh_phone() -> str:
    return next(_numbers)


def e164(number: str) -> str:
    return "+1" + re.sub(r"\D", "", number)[-10:]


def last_code(app: Flask, number: str) -> str:
    with app.app_context():
        bodies = [m.body for m in db.session.scalars(select(OutboundMessage)) if m.to_number == e164(number)]
    match = re.search(r"\b(\d{6})\b", bodies[-1]) if bodies else None
    assert match, f"no code texted to {number}"
    return match.group(1)


# The app --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One migrated app for the module; failed console sign-ins answer at once (their
    half-second floor is for attackers' clocks, and would make every example slow)."""
    from flask_migrate import upgrade

    app = create_app({"TESTING": True}, environ=make_environ(tmp_path_factory.mktemp("fuzz")))
    with app.app_context():
        upgrade()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("portal.console.accounts.FAILED_SIGN_IN_SECONDS", 0.0)
        yield app


def texted(app: Flask, body: str, sender: str, sid: str) -> TestResponse:
    params = {"From": sender, "To": "+13145550100", "Body": body, "MessageSid": sid, "AccountSid": "AC1"}
    return app.test_client().post("/sms/inbound", data=params, headers=signature(app, params))


def signature(app: Flask, params: Mapping[str, str], path: str = "/sms/inbound") -> dict[str, str]:
    token = webhook_auth_token(app.config["PORTAL_SETTINGS"])
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(
            "http://127.0.0.1:5000" + path, params
        )
    }


@pytest.fixture(scope="module")
def references(fuzz_app: Flask) -> dict[str, list[str]]:
    """A few CIT requests (texted in) and crisis plans for the console's forms."""
    for n in range(3):
        assert texted(fuzz_app, "PIN 4500 Main St", f"+1314555016{n}", f"SMfixture{n}").status_code == 200
    with fuzz_app.app_context():
        plans = []
        for n in range(3):
            plan = file_plan(
                {"person": {"name": "Pat Doe"}, "crisis": {"what_helps": "Quiet voice"}},
                name="Pat Doe",
                born=date(1980, 1, 1),
                language="en",
                cit_requested=True,
                filed_by="self",
                phones=[(f"+1314555017{n}", "person")],
            )
            db.session.flush()
            plans.append(plan.reference)
        db.session.commit()
        requests = list(db.session.scalars(select(CitRequest.reference)))
    return {"requests": requests, "plans": plans}


def console_client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    email = f"fuzz-{role}-{next(_addresses)}@example.org"
    secret = make_user(app, email, role)
    assert sign_in(app, client, email, secret).status_code == 302
    return client


@pytest.fixture(scope="module")
def dispatcher(fuzz_app: Flask) -> FlaskClient:
    return console_client(fuzz_app, "dispatcher")


@pytest.fixture(scope="module")
def admin(fuzz_app: Flask) -> FlaskClient:
    return console_client(fuzz_app, "admin")


def console_pages(client: FlaskClient, reference: str | None = None) -> None:
    """Where the console shows what was typed or texted: queue, rows, the request."""
    check(client.get("/console/queue/rows", headers={"HX-Request": "true"}), "GET /console/queue/rows")
    if reference:
        check(client.get(f"/console/requests/{reference}"), f"GET /console/requests/{reference}")


# The crisis-plan registry ------------------------------------------------------------------

STEP_FORMS = {step.slug: step.form for step in plan_forms.FORM_STEPS}
ACTIONS = st.one_of(st.sampled_from(["next", "back", "save", "add", "upload", "remove"]), TEXT)
STEP_BUTTONS = {"action": ACTIONS, "switch_language": st.one_of(st.sampled_from(LANGUAGE_CODES), TEXT)}


def registry_post() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A post to one of the registry's form pages (a draft is open): path and form."""
    steps = [
        st.tuples(st.just(f"/crisis-plan/step/{slug}"), form_data({**form_fields(form), **STEP_BUTTONS}))
        for slug, form in STEP_FORMS.items()
    ]
    position = st.integers(0, 3).map(str) | TEXT
    phone_action = st.one_of(
        st.sampled_from(["add", "next", "back"]),
        st.tuples(st.sampled_from(["verify:", "resend:", "remove:"]), position).map("".join),
        TEXT,
    )
    phones = form_data(
        {
            **form_fields(plan_forms.AddPhoneForm, "add", number=PHONES),
            **form_fields(plan_forms.CodeForm, "verify", code=CODES),
            "action": phone_action,
        }
    )
    start = form_data(
        {"action": st.sampled_from(["new", "resume"]) | TEXT, "confirmed": st.sampled_from(["1", ""]) | TEXT}
    )
    review = form_data(form_fields(plan_forms.ReviewForm))
    return st.one_of(
        *steps,
        st.tuples(st.just("/crisis-plan/step/phones"), phones),
        st.tuples(st.just("/crisis-plan/step/phones"), phones),  # the step with the most buttons
        st.tuples(st.just("/crisis-plan/start"), start),
        st.tuples(st.just("/crisis-plan/review"), review),
    )


@pytest.fixture(scope="module")
def drafting(fuzz_app: Flask) -> FlaskClient:
    client = fuzz_app.test_client()
    assert post(client, "/crisis-plan/start", {"action": "new"}).status_code == 200
    return client


@budget(4)
@given(
    prefix=LANGUAGE_PREFIX,
    posted=registry_post(),
    query=QUERY,
    csrf=CSRF_MODES,
)
def test_the_registry_steps_take_anything(
    drafting: FlaskClient, prefix: str, posted: tuple[str, dict[str, Any]], query: dict[str, str], csrf: str
) -> None:
    path, data = posted
    new_visitor(drafting)
    post(drafting, prefix + path, data, csrf=csrf, query=query)
    # The step again, from the draft: what was kept is shown escaped.
    check(drafting.get(prefix + path), f"GET {prefix + path} after the post")


def images() -> dict[str, bytes]:
    made = {}
    for kind in ("PNG", "JPEG", "GIF"):
        out = io.BytesIO()
        Image.new("RGB", (3, 2), (200, 30, 30)).save(out, kind)
        made[kind] = out.getvalue()
    return made


IMAGES = images()


def damaged(image: bytes, cut: int, flip: int, junk: bytes) -> bytes:
    """A real image, cut short, with a byte flipped and junk after it."""
    data = bytearray(image[: max(1, len(image) - cut)])
    data[flip % len(data)] ^= 0xFF
    return bytes(data) + junk


PHOTOS = st.one_of(
    st.sampled_from(list(IMAGES.values())),
    st.builds(
        damaged,
        st.sampled_from(list(IMAGES.values())),
        st.integers(0, 200),
        st.integers(0, 400),
        st.binary(max_size=64),
    ),
    st.binary(max_size=2048),
)


PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@budget(1)
@given(
    photo=st.none() | PHOTOS,
    filename=st.sampled_from(["photo.jpg", "IMG_0001.HEIC", ""]) | TEXT,
    content_type=st.sampled_from(["image/jpeg", "image/png", "application/octet-stream"]) | PRINTABLE,
    data=form_data({"action": ACTIONS}),
    csrf=CSRF_MODES,
    query=QUERY,
)
def test_the_photo_step_takes_any_file(
    drafting: FlaskClient,
    photo: bytes | None,
    filename: str,
    content_type: str,
    data: dict[str, Any],
    csrf: str,
    query: dict[str, str],
) -> None:
    files = {} if photo is None else {"photo": (io.BytesIO(photo), filename, content_type)}
    new_visitor(drafting)
    post(
        drafting,
        "/crisis-plan/step/photo",
        {**data, **files},
        csrf=csrf,
        query=query,
        content_type="multipart/form-data",
    )


@pytest.fixture(scope="module")
def signing_in(fuzz_app: Flask) -> FlaskClient:
    """A registrant who asked for a sign-in code (the number is kept for the code page)."""
    client = fuzz_app.test_client()
    post(client, "/crisis-plan/sign-in", {"number": "(314) 555-0170"})
    return client


def sign_in_posts() -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """Sign-in, code entry and the person's confirm pages: (path, form page, form)."""
    confirm = {
        **form_fields(plan_forms.PersonPhoneForm, "phone", number=PHONES),
        **form_fields(plan_forms.CodeForm, "confirm", code=CODES),
    }
    return st.one_of(
        st.tuples(
            st.just("/crisis-plan/sign-in"),
            st.just("/crisis-plan/sign-in"),
            form_data(form_fields(plan_forms.SignInForm, number=PHONES)),
        ),
        st.tuples(
            st.just("/crisis-plan/sign-in/code"),
            st.just("/crisis-plan/sign-in/code"),
            form_data(form_fields(plan_forms.CodeForm, code=CODES)),
        ),
        st.tuples(st.just("/crisis-plan/confirm"), st.just("/crisis-plan/confirm"), form_data(confirm)),
        st.tuples(
            st.just("/crisis-plan/confirm/new-code"),
            st.just("/crisis-plan/confirm"),
            form_data(form_fields(plan_forms.PersonNewCodeForm, "again", number=PHONES)),
        ),
    )


@budget(2.5)
@given(prefix=LANGUAGE_PREFIX, posted=sign_in_posts(), query=QUERY, csrf=CSRF_MODES)
def test_registrant_sign_in_and_code_pages_take_anything(
    signing_in: FlaskClient,
    prefix: str,
    posted: tuple[str, str, dict[str, Any]],
    query: dict[str, str],
    csrf: str,
) -> None:
    path, page, data = posted
    new_visitor(signing_in)
    post(signing_in, prefix + path, data, page=prefix + page, csrf=csrf, query=query)


def valid_text(max_length: int, required: bool) -> st.SearchStrategy[str]:
    """Text a step accepts (within its length, not blank when required) that holds a marker."""

    def fit(parts: tuple[str, str, str]) -> str:
        head, marker, tail = parts
        head = ("A" if required else "") + head
        room = max_length - len(marker)
        text = head[:room] + marker
        return text + tail[: max_length - len(text)]

    no_nul = TEXT.map(lambda text: text.replace("\x00", ""))  # refused before any view runs
    return st.tuples(no_nul, st.sampled_from(MARKERS), no_nul).map(fit)


def valid_answers(form_class: type) -> st.SearchStrategy[dict[str, Any]]:
    """A step's answers that pass it, every free-text field holding a marker."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField) or name == "website":
            continue
        validators = unbound.kwargs.get("validators", [])
        choices = unbound.kwargs.get("choices")
        if choices is not None:
            values = [value for value, _label in choices]
            many = issubclass(unbound.field_class, SelectMultipleField)
            fields[name] = st.lists(st.sampled_from(values), max_size=2) if many else st.sampled_from(values)
        elif issubclass(unbound.field_class, DateField):
            fields[name] = st.dates(date(1920, 1, 1), date(2000, 12, 31)).map(date.isoformat)
        else:
            length = next((v.max for v in validators if isinstance(v, Length)), 2000)
            required = any(isinstance(v, DataRequired | InputRequired) for v in validators)
            fields[name] = valid_text(length, required)
    return st.fixed_dictionaries(fields)


PLAN_ANSWERS = st.fixed_dictionaries(
    {slug: valid_answers(form) for slug, form in STEP_FORMS.items() if slug != "consent"}
)


def walk(client: FlaskClient, token: str, path: str, data: Mapping[str, Any]) -> TestResponse:
    """One step of a filing that must go on (a 302); the answer checked."""
    response = client.post(path, data={**dict.fromkeys(TOKEN_NAMES, token), **data})
    check(response, f"POST {path}")
    assert response.status_code == 302, (path, response.get_data(as_text=True)[:2000])
    return response


@budget(0.25)
@given(
    answers=PLAN_ANSWERS,
    language=st.sampled_from(LANGUAGE_CODES),
    note=VALUE,
    reason=VALUE,
    section=st.sampled_from(["person", "photo", "where", "phones", "crisis", "care", "people", "consent"]),
    leftovers=extras(("reason", "confirmed")),
)
def test_a_plan_holding_any_text_is_shown_escaped_everywhere(
    fuzz_app: Flask,
    dispatcher: FlaskClient,
    answers: dict[str, dict[str, Any]],
    language: str,
    note: Any,
    reason: Any,
    section: str,
    leftovers: dict[str, Any],
) -> None:
    """A family files a plan whose every free-text answer holds a marker; the family,
    the person (with a note of any text) and a dispatcher then see it on every page."""
    family, person = fuzz_app.test_client(), fuzz_app.test_client()
    new_visitor(family)
    new_visitor(person)
    token = tokens(family, "/crisis-plan/start")
    filer_phone, person_phone = fresh_phone(), fresh_phone()
    walk(family, token, "/crisis-plan/start", {"action": "new"})
    for slug in ("person", "where"):
        walk(family, token, f"/crisis-plan/step/{slug}", {"action": "next", **answers[slug]})
    for position, (number, role) in enumerate(((filer_phone, "filer"), (person_phone, "person"))):
        walk(
            family,
            token,
            "/crisis-plan/step/phones",
            {"action": "add", "add-number": number, "add-role": role},
        )
        code = last_code(fuzz_app, number)
        walk(family, token, "/crisis-plan/step/phones", {"action": f"verify:{position}", "verify-code": code})
    for slug in ("crisis", "care", "people"):
        walk(family, token, f"/crisis-plan/step/{slug}", {"action": "next", **answers[slug]})
    consent = {"action": "next", "cit_requested": "yes", "filed_by": "family", "language": language}
    walk(family, token, "/crisis-plan/step/consent", consent)
    check(family.get("/crisis-plan/review"), "GET /crisis-plan/review")
    walk(family, token, "/crisis-plan/review", {"understood": "y"})
    for path in ("/crisis-plan/print", "/crisis-plan/card", "/crisis-plan/access-log"):
        check(family.get(path), f"GET {path}")

    # The person, with the code texted to their phone, asks for changes in a note.
    code = last_code(fuzz_app, person_phone)
    token = tokens(person, "/crisis-plan/confirm")
    walk(person, token, "/crisis-plan/confirm", {"phone-number": person_phone, "confirm-code": code})
    check(person.get("/crisis-plan/confirm/plan"), "GET /crisis-plan/confirm/plan")
    answered = person.post(
        "/crisis-plan/confirm/answer", data={"csrf_token": token, "answer": "changes", "note": note}
    )
    check(answered, "POST /crisis-plan/confirm/answer")
    check(family.get("/crisis-plan/"), "GET /crisis-plan/ (with the person's note)")

    # A dispatcher finds it and opens it, for a reason of any text.
    with fuzz_app.app_context():
        reference = db.session.scalar(select(CrisisPlan.reference).order_by(CrisisPlan.id.desc()))
    token = tokens(dispatcher, "/console/plans")
    for form in ({"reference": reference}, {"choice": "other", "reason": reason}, {"choice": "call"}):
        path = f"/console/plans/{reference}" if "choice" in form else "/console/plans"
        check(dispatcher.post(path, data={"csrf_token": token, **form}), f"POST {path}")

    # The family changes a section (the plan's answers in the step's form), renews, asks
    # for the person's text again and withdraws the plan, with fields nobody asked for.
    token = tokens(family, "/crisis-plan/")
    visit(
        family,
        family.post(f"/crisis-plan/change/{section}", data={"csrf_token": token, **leftovers}),
        "change",
    )
    for path in ("/crisis-plan/renew", "/crisis-plan/confirm/send-again", "/crisis-plan/withdraw"):
        check(family.post(path, data={"csrf_token": token, **leftovers}), f"POST {path}")


# The dispatcher console -----------------------------------------------------------------


@pytest.fixture(scope="module")
def half_signed_in(fuzz_app: Flask) -> FlaskClient:
    """Password given, second factor not yet."""
    client = fuzz_app.test_client()
    make_user(fuzz_app, "code@example.org", "dispatcher")
    first = post(client, "/console/sign-in", {"email": "code@example.org", "password": PASSWORD})
    assert first.request.path == "/console/sign-in/code"
    return client


EMAILS = st.one_of(
    st.sampled_from(["code@example.org", "CODE@example.org ", "nobody@example.org"]), st.emails(), VALUE
)


@budget(2)
@given(
    signing=st.booleans(),
    data=form_data(form_fields(console_forms.SignInForm, email=EMAILS, password=st.just(PASSWORD) | VALUE)),
    code=form_data(form_fields(console_forms.TotpForm, code=CODES)),
    csrf=CSRF_MODES,
    query=QUERY,
)
def test_console_sign_in_and_code_entry_take_anything(
    fuzz_app: Flask,
    half_signed_in: FlaskClient,
    signing: bool,
    data: dict[str, Any],
    code: dict[str, Any],
    csrf: str,
    query: dict[str, str],
) -> None:
    if signing:
        post(fuzz_app.test_client(), "/console/sign-in", data, csrf=csrf, query=query)
    else:
        post(half_signed_in, "/console/sign-in/code", code, csrf=csrf, query=query)


# Requests and plans in paths: the fixtures' (by position), the newest one, or any text.
NEWEST = "newest"
REQUEST_IN_PATH = st.one_of(st.sampled_from([NEWEST, 0, 1, 2]), TEXT.map(lambda s: quote(s, safe="")))
PLAN_IN_PATH = st.one_of(st.sampled_from([0, 1]), TEXT.map(lambda s: quote(s, safe="")))
ON_REQUEST = {
    "acknowledge": form_data({}),
    "note": form_data(form_fields(console_forms.NoteForm)),
    "reply": form_data({"template": st.sampled_from(DISPATCHER_REPLIES) | TEXT}),
    "close": st.one_of(
        form_data(form_fields(console_forms.CloseForm)),
        st.fixed_dictionaries(  # closed, with a CAD number the request page then shows
            {
                "disposition": st.sampled_from([value for value, _words in console_forms.DISPOSITIONS]),
                "cad_number": valid_text(40, False),
                "text_texter": st.sampled_from(["yes", "no"]),
            }
        ),
    ),
}
NEW_REQUEST = st.one_of(
    form_data(
        form_fields(
            console_forms.ManualRequestForm, language=st.sampled_from(LANGUAGE_CODES) | TEXT, callback=PHONES
        )
    ),
    st.fixed_dictionaries(  # a request made, its location and note then shown
        {
            "location": valid_text(300, True),
            "note": valid_text(2000, False),
            "language": st.sampled_from(LANGUAGE_CODES),
        },
        optional={"callback": PHONES},
    ),
)
REASONS = st.one_of(st.sampled_from(["call", "en_route", "other", f"request:{NEWEST}"]), TEXT)
DISPATCHER_POSTS = st.one_of(
    *(
        st.tuples(st.just(action), REQUEST_IN_PATH, strategy)
        for action, strategy in [*ON_REQUEST.items(), ("new", NEW_REQUEST)]
    ),
    st.tuples(st.just("lookup"), st.none(), form_data(form_fields(console_forms.LookupForm, phone=PHONES))),
    st.tuples(
        st.just("plan"), PLAN_IN_PATH, form_data(form_fields(console_forms.ViewPlanForm, choice=REASONS))
    ),
)


def newest_request(app: Flask) -> str:
    with app.app_context():
        return str(db.session.scalar(select(CitRequest.reference).order_by(CitRequest.id.desc())))


@budget(4)
@given(posted=DISPATCHER_POSTS, csrf=CSRF_MODES, query=QUERY)
def test_the_dispatchers_forms_take_anything(
    fuzz_app: Flask,
    dispatcher: FlaskClient,
    references: dict[str, list[str]],
    posted: tuple[str, Any, dict[str, Any]],
    csrf: str,
    query: dict[str, str],
) -> None:
    """Look-up, opening a plan, a request's acknowledge, note, reply and close, and a
    request typed in for a voice call; then the request's page and the queue."""
    action, where, form = posted
    request = newest_request(fuzz_app) if where == NEWEST else where
    if isinstance(where, int):
        request = references["requests"][where]
    if form.get("choice") == f"request:{NEWEST}":
        form = {**form, "choice": f"request:{newest_request(fuzz_app)}"}
    if action == "lookup":
        path, page = "/console/plans", "/console/plans"
    elif action == "plan":
        plan = references["plans"][where] if isinstance(where, int) else where
        path, page = f"/console/plans/{plan}", "/console/plans"
    elif action == "new":
        path, page = "/console/requests/new", "/console/requests/new"
    else:
        path, page = f"/console/requests/{request}/{action}", f"/console/requests/{request}"
    response = post(dispatcher, path, form, page=page, csrf=csrf, query=query)
    assert response.request.path != "/console/sign-in", "the dispatcher was signed out"
    console_pages(dispatcher, newest_request(fuzz_app))


@budget(1)
@given(
    create=st.booleans(),
    users=form_data(form_fields(console_forms.NewUserForm, email=EMAILS)),
    withdraw=form_data(form_fields(console_forms.WithdrawPlanForm)),
    csrf=CSRF_MODES,
)
def test_the_admins_forms_take_anything(
    admin: FlaskClient,
    references: dict[str, list[str]],
    create: bool,
    users: dict[str, Any],
    withdraw: dict[str, Any],
    csrf: str,
) -> None:
    if create:
        post(admin, "/console/users", users, csrf=csrf)
    else:
        plan = references["plans"][-1]
        post(admin, f"/console/plans/{plan}/withdraw", withdraw, page="/console/plans", csrf=csrf)


SEARCHES = {
    "/console/audit": form_fields(
        AuditFilterForm,
        person=st.one_of(st.sampled_from(["", "none", "1"]), BIG_NUMBERS, TEXT),
        action=st.one_of(st.sampled_from(["", "sign_in", "plan.view"]), TEXT),
    ),
    "/console/reports": form_fields(ReportForm),
}


@budget(2)
@given(
    path=st.sampled_from(list(SEARCHES)),
    data=st.data(),
    page=st.one_of(st.none(), BIG_NUMBERS, TEXT),
)
def test_the_console_searches_take_anything(
    admin: FlaskClient, path: str, data: st.DataObject, page: str | None
) -> None:
    """The audit trail's and the reports' filters, read from the query string."""
    query = data.draw(form_data(SEARCHES[path]), label="query")
    if page is not None:
        query["page"] = page
    check(admin.get(path, query_string=query), f"GET {path}?{query}")


@pytest.fixture(scope="module")
def setting_up(fuzz_app: Flask) -> FlaskClient:
    """A new user who opened the one-time set-up link."""
    with fuzz_app.app_context():
        user = ConsoleUser(email="new@example.org", role="dispatcher")
        token = new_setup_link(user)
        db.session.add(user)
        db.session.commit()
    client = fuzz_app.test_client()
    assert client.get(f"/console/setup/{token}").status_code == 302
    return client


@budget(1)
@given(
    password=form_data(form_fields(console_forms.SetPasswordForm)),
    code=form_data(form_fields(console_forms.TotpForm, code=CODES)),
    csrf=CSRF_MODES,
)
def test_console_set_up_takes_anything(
    setting_up: FlaskClient, password: dict[str, Any], code: dict[str, Any], csrf: str
) -> None:
    # The password form until a password is accepted, then the authenticator's code.
    page = check(setting_up.get("/console/setup"), "GET /console/setup")
    post(setting_up, "/console/setup", code if 'name="code"' in page else password, csrf=csrf)


# The SMS webhook -----------------------------------------------------------------------------

_sids = itertools.count(1)
TEXTERS = [f"+1314555015{n}" for n in range(10)]
BODIES = st.one_of(
    TEXT,
    LONG,
    st.tuples(st.sampled_from(["PIN ", "AYUDA ", "CIT ", "HELP", "STOP", "START", ""]), TEXT).map("".join),
    # A place: the request's location, which the console shows, holds the rest.
    st.tuples(
        st.sampled_from(["PIN ", "AYUDA ", ""]), st.sampled_from(["4500 Main St ", "12 Oak Ave, "]), TEXT
    ).map("".join),
)
_texters = itertools.count(1)
NEW_TEXTERS = st.builds(lambda: f"+1314555{200 + next(_texters) % 9800:04d}")  # a new conversation
SENDERS = st.one_of(st.sampled_from(TEXTERS), NEW_TEXTERS, PHONES, TEXT)
NEW_SIDS = st.builds(lambda: f"SM{next(_sids):032d}")
SIDS = st.one_of(NEW_SIDS, st.sampled_from(["SMfixture0", ""]), TEXT, LONG)
STATUSES = st.sampled_from(["queued", "sent", "delivered", "failed", "undelivered"]) | TEXT


def webhook_params(fields: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    """Twilio's fields, each present or missing, and others of any name."""
    return st.tuples(
        st.fixed_dictionaries({}, optional=dict(fields)), st.dictionaries(TEXT, TEXT, max_size=2)
    ).map(merged)


INBOUND = webhook_params(
    {
        "From": SENDERS,
        "To": st.sampled_from(["+13145550100"]) | TEXT,
        "Body": BODIES,
        "MessageSid": SIDS,
        "AccountSid": st.sampled_from(["AC1"]) | TEXT,
        "NumMedia": BIG_NUMBERS,
    }
)
STATUS = webhook_params(
    {"MessageSid": SIDS, "MessageStatus": STATUSES, "ErrorCode": BIG_NUMBERS | TEXT, "To": SENDERS}
)
WEBHOOKS = st.sampled_from(["/sms/inbound", "/sms/status", "/sms/fallback"])


def signed_call(app: Flask, path: str, params: dict[str, str]) -> TestResponse:
    response = app.test_client().post(path, data=params, headers=signature(app, params, path))
    check(response, f"POST {path}")
    assert response.status_code != 403, "a correct signature was refused"
    return response


@budget(3)
@given(params=INBOUND)
def test_the_text_line_answers_any_signed_text(
    fuzz_app: Flask, dispatcher: FlaskClient, params: dict[str, str]
) -> None:
    signed_call(fuzz_app, "/sms/inbound", params)
    # What was texted, as the console shows it.
    with fuzz_app.app_context():
        newest = db.session.scalar(select(CitRequest.reference).order_by(CitRequest.id.desc()))
    console_pages(dispatcher, newest)


@budget(2)
@given(params=STATUS)
def test_the_status_webhook_answers_any_signed_call(fuzz_app: Flask, params: dict[str, str]) -> None:
    signed_call(fuzz_app, "/sms/status", params)


@budget(1)
@given(params=INBOUND)
def test_the_fallback_webhook_answers_any_signed_call(fuzz_app: Flask, params: dict[str, str]) -> None:
    signed_call(fuzz_app, "/sms/fallback", params)


BAD_SIGNATURES = st.one_of(st.none(), PRINTABLE, st.sampled_from(["wrong-url", "wrong-token", "changed"]))


@budget(2)
@given(path=WEBHOOKS, params=STATUS | INBOUND, how=BAD_SIGNATURES)
def test_the_webhook_refuses_any_bad_signature(
    fuzz_app: Flask, path: str, params: dict[str, str], how: str | None
) -> None:
    token = webhook_auth_token(fuzz_app.config["PORTAL_SETTINGS"])
    url = "http://127.0.0.1:5000" + path
    header = how
    if how == "wrong-url":
        header = RequestValidator(token).compute_signature(url + "x", params)
    elif how == "wrong-token":
        header = RequestValidator(token + "x").compute_signature(url, params)
    elif how == "changed":
        header = RequestValidator(token).compute_signature(url, params)
        params = {**params, "Body": params.get("Body", "") + "!"}
    headers = {} if header is None else {"X-Twilio-Signature": header}
    response = fuzz_app.test_client().post(path, data=params, headers=headers)
    check(response, f"POST {path}")
    # Refused before the signature is read: a NUL anywhere (400, before any view runs),
    # or a field past the form parser's 500 kB (413, while the signature is checked).
    nul = any("\x00" in key + value for key, value in params.items())
    huge = header is not None and len(urlencode(params)) > 500_000
    allowed = {403} | ({400} if nul else set()) | ({413} if huge else set())
    assert response.status_code in allowed, f"{path} answered {response.status_code} to a bad signature"


@budget(0.75)
@given(number=SENDERS, body=BODIES, csrf=CSRF_MODES)
def test_the_sms_simulator_takes_anything(fuzz_app: Flask, number: str, body: str, csrf: str) -> None:
    client = fuzz_app.test_client()  # a loopback client: the simulator answers only those
    post(client, "/dev/sms/", {"number": number, "body": body}, csrf=csrf)


# Huge bodies -------------------------------------------------------------------------------

HUGE = 27 * 1024 * 1024  # over MAX_CONTENT_LENGTH (26 MB)


@pytest.mark.parametrize(
    "path",
    [
        "/crisis-plan/step/person",
        "/crisis-plan/step/photo",
        "/crisis-plan/sign-in",
        "/console/sign-in",
        "/console/plans",
        "/sms/inbound",
    ],
)
def test_a_huge_body_is_refused_not_failed(drafting: FlaskClient, dispatcher: FlaskClient, path: str) -> None:
    client = dispatcher if path.startswith("/console/plans") else drafting
    token = tokens(client, path if not path.startswith("/sms") else "/crisis-plan/sign-in")
    huge = {"csrf_token": token, "name": "x" * HUGE}
    if path.endswith("/photo"):
        huge = {"csrf_token": token, "action": "upload", "photo": (io.BytesIO(b"\xff" * HUGE), "big.jpg")}
    refused = client.post(path, data=huge)
    check(refused, f"POST {path} (27 MB)")
    # The webhook refuses an unsigned call before reading its body.
    assert refused.status_code in ((403, 413) if path.startswith("/sms") else (413,)), refused.status_code
    # Many small parts, past the form parser's part limit.
    parts = client.post(
        path,
        data={"csrf_token": token, **{f"f{n}": "x" for n in range(1500)}},
        content_type="multipart/form-data",
    )
    check(parts, f"POST {path} (1,500 parts)")


def test_the_markers_come_back_escaped(fuzz_app: Flask) -> None:
    """The check is not vacuous: what was typed is shown again, escaped."""
    client = fuzz_app.test_client()
    response = post(client, "/console/sign-in", {"email": '"><script><x-fuzz>', "password": "x"})
    page = response.get_data(as_text=True)
    assert "&#34;&gt;&lt;script&gt;&lt;x-fuzz&gt;" in page, page[:500]
