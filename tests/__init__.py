"""conjure tests."""
