"""Context-neutral live delivery: topics, subscriptions, notifications and the hub's ports."""
