"""plot layer (see docs/architecture.md)."""
