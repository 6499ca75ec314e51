"""project layer (see docs/architecture.md)."""
