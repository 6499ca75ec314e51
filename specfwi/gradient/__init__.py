"""gradient layer (see docs/architecture.md)."""
