"""The social context: profiles, a follow graph, posts, likes and timelines (DESIGN.md §2.6)."""
