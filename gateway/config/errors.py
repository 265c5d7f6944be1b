"""The one error a bad configuration raises."""

from __future__ import annotations


class ConfigError(ValueError):
    """One clear line saying what is wrong with the configuration and where."""
