"""misfit layer (see docs/architecture.md)."""
