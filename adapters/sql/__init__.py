"""SQL adapters (SQLAlchemy 2): one schema for SQLite (the embedded profile) and PostgreSQL."""
