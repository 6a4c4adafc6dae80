"""The sessions context: customers' sessions, their child sessions, expiry and last login."""
