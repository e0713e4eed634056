"""Command-line entry points. The only package that prints."""
