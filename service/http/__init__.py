"""Litestar controllers, one module per area."""
