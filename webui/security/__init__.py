"""The console's guards: sessions, role checks, CSRF, sign-in throttling, security headers."""
