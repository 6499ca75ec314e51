"""mapping layer (see docs/architecture.md)."""
