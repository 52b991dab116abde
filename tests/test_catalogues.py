"""Every catalogue is complete, and the gettext round trip is stable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from portal import PROJECT_ROOT
from portal.i18n import LANGUAGES

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TRANSLATED = [language for language in LANGUAGES if language.code != "en"]


def catalogue(language) -> polib.POFile:  # type: ignore[no-untyped-def]
    return polib.pofile(
        str(PROJECT_ROOT / "translations" / language.catalogue / "LC_MESSAGES" / "messages.po")
    )


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.code)
def test_catalogue_is_complete(language) -> None:  # type: ignore[no-untyped-def]
    po = catalogue(language)
    template = polib.pofile(str(PROJECT_ROOT / "translations" / "messages.pot"))
    assert {entry.msgid for entry in po if not entry.obsolete} == {entry.msgid for entry in template}
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert [entry.msgid for entry in po.obsolete_entries()] == []


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.code)
def test_placeholders_match_the_english(language) -> None:  # type: ignore[no-untyped-def]
    for entry in catalogue(language):
        english = set(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for translated in translations:
            found = set(PLACEHOLDER.findall(translated))
            if entry.msgid_plural:
                found.add("num")  # a plural form may say "one" in words instead of %(num)d
            assert found == english, entry.msgid
            for token in ("911", "988"):
                assert entry.msgid.count(token) <= translated.count(token), (token, entry.msgid)


def messages_of(catalogue: Path) -> list[str]:
    """A catalogue's lines but the one naming the Babel release that wrote it: a new
    release of Babel is not a change to the messages."""
    return [line for line in catalogue.read_text().splitlines() if not line.startswith('"Generated-By:')]


def never_reinstall(tree: Path, venv: Path) -> None:
    """The copy's pyproject.toml and lock no newer than the venv: make must not reinstall
    the project from the copy, or the editable install would point at this temporary
    tree and every later `flask --app portal` outside the repository would fail."""
    installed = venv / ".installed"
    if installed.exists():
        older = installed.stat().st_mtime_ns - 1_000_000_000  # whole nanoseconds: no rounding up
        for name in ("pyproject.toml", "requirements.lock"):
            os.utime(tree / name, ns=(older, older))


def test_make_translations_on_a_clean_tree_changes_nothing(tmp_path: Path) -> None:
    """Extracting and updating again must give back exactly the committed catalogues."""
    tree = tmp_path / "tree"
    for name in ("portal", "templates", "translations"):
        shutil.copytree(
            PROJECT_ROOT / name, tree / name, ignore=shutil.ignore_patterns("*.mo", "__pycache__")
        )
    for name in ("babel.cfg", "Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy2(PROJECT_ROOT / name, tree / name)
    venv = PROJECT_ROOT / ".venv"
    never_reinstall(tree, venv)
    result = subprocess.run(
        ["make", "--no-print-directory", "translations", f"VENV={venv}"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for po in [
        *sorted((PROJECT_ROOT / "translations").rglob("*.po*")),
        PROJECT_ROOT / "translations/messages.pot",
    ]:
        relative = po.relative_to(PROJECT_ROOT)
        assert messages_of(tree / relative) == messages_of(po), f"make translations changed {relative}"
