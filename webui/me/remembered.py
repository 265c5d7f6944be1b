""" "Remember my details": the claim's project, department, billable choice and comment, kept
in a cookie signed with a key of this printgate (a file in its data directory, made on first
use), so the next claim starts from them. Never a password; a cookie whose signature does not
match is ignored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web

DETAILS_COOKIE = "printgate_print_details"
KEY_FILE = "my-printing-cookie.key"
MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Details:
    project: str = ""
    department: str = ""
    billable: bool = True
    comment: str = ""


DETAILS_KEY = web.AppKey("my-printing-details-key", bytes)


def cookie_key(data_dir: Path) -> bytes:
    """The signing key, made once (readable by printgate alone)."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(key.hex())
        return key


def _signature(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def encode_details(key: bytes, details: Details) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(asdict(details)).encode())
    return f"{payload.decode()}.{_signature(key, payload)}"


def decode_details(key: bytes, value: str) -> Details | None:
    payload, _, signature = value.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(key, payload.encode()).encode()):
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return Details(
            project=str(raw["project"])[:100],
            department=str(raw["department"])[:100],
            billable=bool(raw["billable"]),
            comment=str(raw["comment"])[:1000],
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def remembered(request: web.Request, key: bytes) -> Details | None:
    value = request.cookies.get(DETAILS_COOKIE, "")
    return decode_details(key, value) if value else None


def remember(
    response: web.StreamResponse, request: web.Request, key: bytes, details: Details
) -> None:
    response.set_cookie(
        DETAILS_COOKIE,
        encode_details(key, details),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


def forget(response: web.StreamResponse) -> None:
    response.del_cookie(DETAILS_COOKIE, path="/")
