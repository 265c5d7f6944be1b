"""Fleet monitoring over SNMP: meter reads, supply levels, alerts, discovery, meter reports.

`oids` (what is read, and where each vendor OID comes from), `reading` (decoding what a device
answered: no IO), `client` (pysnmp, one engine), `poller` (one device's reading), `records`
(the store), `alerts` and `staleness` (policy), `monitor` (the loop inside `printgate serve`),
`discovery`, `report`, `cli`.
"""
