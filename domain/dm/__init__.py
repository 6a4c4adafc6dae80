"""Direct messages: conversations ("message groups") between exactly two users (Cruddur's patterns)."""
