"""Task modules of this repository's own dodo.py (conjure dogfooding itself)."""
