"""The scenario's Python package."""

GREETING = "hello"
