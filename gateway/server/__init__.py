"""The IPP server: the aiohttp application, the queue and job attributes it answers with, and
the operations (one validation step, then a handler table)."""
