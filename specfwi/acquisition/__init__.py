"""acquisition layer (see docs/architecture.md)."""
