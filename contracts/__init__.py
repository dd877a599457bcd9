"""Message contracts shared by every producer and consumer of manual trigger invocations.

A leaf package: it imports nothing from `worker`, so other services (and other languages,
through the JSON Schemas in `contracts/schemas/`) can depend on it alone.
"""
