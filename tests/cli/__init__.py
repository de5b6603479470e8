"""Integration tests: real doit processes."""
