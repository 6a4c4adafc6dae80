"""Notifier adapters: Redis pub/sub fan-out across processes, API Gateway Management API."""
