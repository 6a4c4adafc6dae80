"""Use cases and ports of the chat context (rooms, members, comments)."""
