"""The remembered-password shortcut must never accept what argon2 would refuse."""

from __future__ import annotations

from gateway.identity.sql import VerifiedPasswords
from gateway.runtime.passwords import hash_password


async def test_remembered_passwords_stay_exact() -> None:
    verified = VerifiedPasswords(ttl=60)
    stored = hash_password("wonder")
    assert await verified.check(stored, "wonder")
    assert await verified.check(stored, "wonder")  # remembered
    assert not await verified.check(stored, "wonder ")
    assert not await verified.check(stored, "WONDER")
    changed = hash_password("new one")
    assert not await verified.check(changed, "wonder")  # a new hash forgets the old password
    assert await verified.check(changed, "new one")


async def test_memory_expires() -> None:
    verified = VerifiedPasswords(ttl=0.0)
    stored = hash_password("pin")
    assert await verified.check(stored, "pin")
    assert not await verified.check(stored, "pin2")
    assert await verified.check(stored, "pin")
