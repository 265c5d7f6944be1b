"""The `printgate` command: one module per command group, shared helpers in common."""
