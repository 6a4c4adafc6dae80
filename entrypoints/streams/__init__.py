"""DynamoDB Streams consumers (`parley dm streams run`)."""
