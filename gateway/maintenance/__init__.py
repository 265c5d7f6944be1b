"""Keeping an installation well: backup, restore, scheduled backups, diagnostics."""
