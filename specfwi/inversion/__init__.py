"""inversion layer (see docs/architecture.md)."""
