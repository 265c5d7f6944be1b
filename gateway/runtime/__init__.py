"""What a running process needs around it: logging, sd_notify, TLS, passwords, mail, the
persistent scheduler."""
