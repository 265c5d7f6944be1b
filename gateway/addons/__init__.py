"""Features that subscribe to job and printer events: metrics, DNS-SD adverts."""
