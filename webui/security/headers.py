"""Security headers on every response the server sends, IPP's and error pages included."""

from __future__ import annotations

from aiohttp import web

# No inline script or style anywhere: the pages load their own files from /static only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Reset links carry their token in the path: no page may pass its address on.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith("/static/"):
        # Pages show accounts and money: no shared cache may keep them.
        response.headers.setdefault("Cache-Control", "no-store")


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
