"""Use cases, ports (typing.Protocol) and the unit of work. Imports the domain only."""
