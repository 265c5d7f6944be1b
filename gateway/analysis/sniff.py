"""What a document is, from its first bytes: for jobs sent as application/octet-stream, and for
`printgate analyze` on a file."""

from __future__ import annotations


def sniff_format(head: bytes) -> str | None:
    """The MIME type a document's first bytes reveal, for application/octet-stream jobs."""
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"RaS2"):
        return "image/pwg-raster"
    if head.startswith(b"UNIRAST"):
        return "image/urf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"%!") or head.startswith(b"\x04%!"):  # DOS-style ^D before %!
        return "application/postscript"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return None
