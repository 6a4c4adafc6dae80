"""Forum context: discussion threads attached to a participant's work on an item."""
