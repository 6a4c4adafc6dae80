"""Implementations of the application's ports: memory/, sql/, dynamodb/, notify/, auth/."""
