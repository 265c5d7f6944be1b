"""Jobs: the pure state table, the manager that applies and persists its events, the spool."""
