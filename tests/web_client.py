"""A cookie-keeping HTTP client for the console, as a browser without JavaScript uses it:
GET a page, take the CSRF token from its form, POST the form back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Reply:
    status: int
    text: str
    headers: CIMultiDictProxy[str]

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class WebClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("allow_redirects", False)
        async with self.session.request(method, self.base_url + path, **kwargs) as response:
            return Reply(response.status, await response.text(errors="replace"), response.headers)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def token(self, path: str = "/signin") -> str:
        """The CSRF token the forms of this page carry."""
        page = await self.get(path, allow_redirects=True)
        found = TOKEN_RE.search(page.text)
        assert found, f"no csrf_token in {path} ({page.status}): {page.text[:300]}"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, str] | None = None, token: str | None = None, **kw: Any
    ) -> Reply:
        """POST a form with the CSRF token of `token`, or of the form page at `path`'s
        nearest GET page (the sign-in page when signed out)."""
        form = dict(data or {})
        form.setdefault("csrf_token", token if token is not None else await self.token_for())
        return await self.request("POST", path, data=form, **kw)

    async def token_for(self) -> str:
        """A token valid for this client: its session's when signed in, else its cookie's."""
        page = await self.get("/account/", allow_redirects=False)
        if page.status == 200:
            found = TOKEN_RE.search(page.text)
            if found:
                return found.group(1)
        console = await self.get("/console/", allow_redirects=False)
        found = TOKEN_RE.search(console.text) if console.status == 200 else None
        return found.group(1) if found else await self.token("/signin")

    async def sign_in(self, username: str, password: str) -> Reply:
        token = await self.token("/signin")
        return await self.request(
            "POST",
            "/signin",
            data={"csrf_token": token, "username": username, "password": password},
        )


class SyncWebClient:
    """The same, blocking, for tests that run printgate as a subprocess (urllib with a
    cookie jar; redirects followed)."""

    def __init__(self, base_url: str):
        import http.cookiejar
        import urllib.request

        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        import urllib.error
        import urllib.parse
        import urllib.request

        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + path, data=data)
        try:
            with self.opener.open(request, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        return self.request(path)

    def post(self, path: str, form: dict[str, str], token_page: str) -> tuple[int, str]:
        """POST the form with the CSRF token of the form on `token_page`."""
        _status, page = self.get(token_page)
        found = TOKEN_RE.search(page)
        assert found, f"no csrf_token on {token_page}"
        return self.request(path, {"csrf_token": found.group(1), **form})

    def sign_in(self, username: str, password: str) -> str:
        """Sign in; the page it leads to."""
        status, page = self.post("/signin", {"username": username, "password": password}, "/signin")
        assert status == 200, (status, page[:500])
        return page
