"""Pure domain model: entities, value objects, state machines, events, policies.

Nothing here imports outside the Python standard library (import-linter checks it).
"""
