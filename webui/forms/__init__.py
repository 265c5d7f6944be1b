"""A request's form data parsed into typed values, or an error per field.

    form = Form(await request.post())
    name = form.text("name", required=True, max_length=100)
    port = form.integer("port", minimum=1, maximum=65535)
    if not form.ok:
        return render(request, "page.html", status=400, form=form)

`form.values` keeps what the person typed, so the page shows it again beside each error
(`macros.html` renders a field with its label, value and error). Messages go through gettext.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..i18n import gettext

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Form:
    def __init__(self, data: Mapping[str, Any] | None = None):
        self.values: dict[str, str] = {}
        for key, value in (data or {}).items():
            if isinstance(value, str) and key != "csrf_token":
                self.values.setdefault(key, value)
        self.errors: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raw(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def text(self, name: str, required: bool = False, max_length: int = 255) -> str:
        value = self.raw(name)
        if required and not value:
            self.error(name, gettext("This field is required."))
        elif len(value) > max_length:
            self.error(name, gettext("At most %(n)s characters.", n=max_length))
        elif not value.isprintable():
            self.error(name, gettext("Control characters are not allowed."))
        return value

    def name(self, name: str, required: bool = True) -> str:
        """A name printgate uses in URIs and files (queues, printers, accounts)."""
        value = self.text(name, required=required, max_length=100)
        if value and not NAME_RE.match(value):
            self.error(
                name,
                gettext(
                    "Letters, digits, dots, dashes and underscores only, starting with a letter"
                    " or digit."
                ),
            )
        return value

    def email(self, name: str, required: bool = True) -> str:
        value = self.text(name, required=required)
        if value and not EMAIL_RE.match(value):
            self.error(name, gettext("This is not an e-mail address."))
        return value

    def password(self, name: str, confirm: str | None = None, minimum: int = 10) -> str:
        value = self.values.get(name, "")
        if len(value) < minimum:
            self.error(name, gettext("At least %(n)s characters.", n=minimum))
        elif confirm is not None and value != self.values.get(confirm, ""):
            self.error(confirm, gettext("The two passwords differ."))
        return value

    def choice(self, name: str, choices: Iterable[str], required: bool = True) -> str:
        value = self.raw(name)
        if not value and not required:
            return value
        if value not in set(choices):
            self.error(name, gettext("Choose one of the options."))
        return value

    def boolean(self, name: str) -> bool:
        return self.raw(name) in ("on", "true", "1", "yes")

    def integer(
        self, name: str, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.raw(name)
        try:
            number = int(value)
        except ValueError:
            self.error(name, gettext("A whole number is needed."))
            return None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            self.error(name, gettext("Between %(a)s and %(b)s.", a=minimum, b=maximum))
            return None
        return number

    def decimal(self, name: str, minimum: Decimal | None = None) -> Decimal | None:
        value = self.raw(name).replace(",", ".")
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.error(name, gettext("A number is needed, such as 1.25."))
            return None
        if not number.is_finite() or (minimum is not None and number < minimum):
            self.error(name, gettext("At least %(a)s.", a=minimum))
            return None
        return number
