"""Authentication adapters: development header, JWT verification, AlgoREA thread tokens."""
