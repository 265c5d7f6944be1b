"""The console speaks English and French: every message of webui's templates and code has a
French translation in one of webui/locale/fr/*.po (so a new text without one fails here, by
name and place), and a French-speaking browser, or an account whose language is French, gets
the pages in French."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests.harness import in_process
from tests.web_client import WebClient
from webui import i18n

WEBUI = Path(i18n.__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {**DEFAULT_KEYWORDS, "gettext": None, "_": None, "ngettext": (1, 2)}
ADMIN_PASSWORD = "a long admin password"


def _messages() -> dict[str, list[str]]:
    """Each message id of webui (a plural's singular) -> where it is used."""
    found: dict[str, list[str]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        WEBUI, METHODS, OPTIONS, KEYWORDS
    ):
        key = message[0] if isinstance(message, tuple) else message
        if key:
            found.setdefault(key, []).append(f"webui/{filename}:{line}")
    return found


def _translated(language: str) -> set[str]:
    """The ids with a translation (every plural form filled, not fuzzy) in that language."""
    done: set[str] = set()
    for path in sorted((WEBUI / "locale" / language).glob("*.po")):
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        for message in catalog:
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and not message.fuzzy and all(forms):
                done.add(message.id[0] if isinstance(message.id, tuple) else message.id)
    return done


@pytest.mark.no_database
def test_every_message_has_a_french_translation() -> None:
    messages = _messages()
    assert "Skip to the content" in messages  # the extractor reads the templates
    assert "Too many failed attempts. Try again in %(s)s seconds." in messages  # and the code
    missing = sorted(set(messages) - _translated("fr"))
    assert not missing, f"{len(missing)} message(s) without French in webui/locale/fr/*.po:\n" + (
        "\n".join(f"  {m!r}  ({', '.join(messages[m][:3])})" for m in missing)
    )


@pytest.mark.no_database
def test_the_catalogs_define_no_message_twice_differently() -> None:
    """Catalogs are merged at load: two areas translating one message two ways would make the
    page depend on the merge order."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((WEBUI / "locale" / "fr").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                if not message.id:
                    continue
                key = str(message.id)
                text = str(message.string)
                if key in seen and seen[key][1] != text:
                    clashes.append(
                        f"{key!r}: {seen[key][0]} {seen[key][1]!r}, {path.name} {text!r}"
                    )
                seen.setdefault(key, (path.name, text))
    assert not clashes, "\n".join(clashes)


async def test_french_browser_and_french_account_get_french_pages(
    tmp_path: Path, database_url: str
) -> None:
    french = i18n.translations("fr")
    sign_in = french.gettext("Sign in to the console")
    assert sign_in != "Sign in to the console"
    async with in_process(tmp_path, database_url) as gw:
        base = f"http://127.0.0.1:{gw.port}"
        async with WebClient(base) as browser:
            english = await browser.get("/signin")
            assert "Sign in to the console" in english.text and 'lang="en"' in english.text
            fr = await browser.get(
                "/signin", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
            )
            assert fr.status == 200
            assert sign_in in fr.text and 'lang="fr"' in fr.text, fr.text[:2000]
            assert "Sign in to the console" not in fr.text

        # The account's language wins over the browser's.
        accounts = Accounts(gw.gateway.jobs.store)
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.set_language(Actor.cli(), "admin", "fr")
        async with WebClient(base) as browser:
            assert (await browser.sign_in("admin", ADMIN_PASSWORD)).status == 303
            page = await browser.get("/console/", headers={"Accept-Language": "en"})
            assert page.status == 200 and 'lang="fr"' in page.text
            assert "<h1>Files d'attente</h1>" in html.unescape(page.text), page.text[:2000]
            assert "Skip to the content" not in page.text
