"""Printers: the backend protocol, the IPP and virtual backends, each printer's state, and the
dispatcher and forwarder that take jobs to them under the pure failover policy."""
