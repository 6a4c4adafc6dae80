"""Direct-message use cases (issue 14): the users directory, patterns A–E, read markers."""
