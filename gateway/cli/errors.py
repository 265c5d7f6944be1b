"""The CLI's one error, apart from the modules that raise it so that `main` catches it without
importing them."""

from __future__ import annotations


class CommandError(Exception):
    """One line for the operator; the command exits non-zero."""
