"""Use cases of the sessions context (issue 16): sessions that back access tokens."""
