"""The console's languages. Every text goes through gettext: in templates `_()` and
`{% trans %}`, in code `gettext`. Catalogs are the .po files under locale/LANG/ (one per
area, so areas never edit the same file), compiled in memory at start-up. The language of a
request is its account's choice, else the console's default (Preferences, Options)."""

from __future__ import annotations

import functools
import io
from contextvars import ContextVar
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_ENGLISH = NullTranslations()
_current: ContextVar[NullTranslations | None] = ContextVar("translations", default=None)
_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@functools.cache
def translations(language: str) -> NullTranslations:
    """Every catalog of a language merged into one; English is the messages themselves."""
    merged: NullTranslations = NullTranslations()
    for path in sorted((LOCALE_DIR / language).glob("*.po")):
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(compiled)
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged


def use(language: str) -> None:
    """Translate the rest of this request (its task) into `language`."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _language.set(language)
    _current.set(translations(language))


def current_language() -> str:
    return _language.get()


def gettext(message: str, **values: object) -> str:
    text = (_current.get() or _ENGLISH).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: object) -> str:
    text = (_current.get() or _ENGLISH).ngettext(singular, plural, count)
    return text % {"num": count, **values}
