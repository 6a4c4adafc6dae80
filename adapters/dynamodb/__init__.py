"""DynamoDB adapters (boto3): the forum table with the reference key schema (DESIGN.md §3.1)."""
