"""printgate web UI."""
