"""Who may print: the Identity and Directory protocols, the SQL lists and LDAP behind them, the
gate that decides on a job, and the release desk for held jobs."""
