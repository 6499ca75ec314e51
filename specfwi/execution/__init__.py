"""execution layer (see docs/architecture.md)."""
