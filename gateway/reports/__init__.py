"""Reports: roll-ups kept with each charge, the figures read from them, and their formats."""
