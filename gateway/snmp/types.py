"""What an SNMP request is addressed with and fails with: shared by client.py (v1/v2c, and the
entry point) and v3.py (SNMPv3 through pysnmp), so that neither imports the other for them."""

from __future__ import annotations

from dataclasses import dataclass


class SnmpError(Exception):
    """The device did not answer, or answered with an error."""


class SnmpTimeout(SnmpError):
    pass


@dataclass(frozen=True)
class Credentials:
    version: str = "2c"
    community: str = "public"
    user: str = ""
    auth_protocol: str = ""
    auth_password: str = ""
    priv_protocol: str = ""
    priv_password: str = ""
    context: str = ""  # SNMPv3 context name (agents serving several devices tell them apart)


@dataclass(frozen=True)
class Target:
    host: str
    port: int = 161
    credentials: Credentials = Credentials()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"
