"""solver layer (see docs/architecture.md)."""
