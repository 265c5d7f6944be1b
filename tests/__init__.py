"""printgate's tests; `tests.peers` starts the real programs they talk to."""
