"""Shared fixtures. Real servers (PostgreSQL, DynamoDB Local, Redis) live in tests/support/servers.py."""
