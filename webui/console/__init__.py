"""The console's areas, each a sub-application with its role: overview (queues, fleet),
preferences, audit log."""
