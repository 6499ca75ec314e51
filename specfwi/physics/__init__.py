"""physics layer (see docs/architecture.md)."""
