"""The chat context: rooms, their members and their comments (DESIGN.md §2.2)."""
