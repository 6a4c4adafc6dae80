"""In-memory adapters: the fakes of the unit suite and the `memory` profile."""
