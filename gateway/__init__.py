"""printgate: an IPP print proxy with an accounting gateway."""

__version__ = "0.1.0"
