"""xv: a fast, pure-Python dependency compiler and environment syncer."""

__version__ = "0.1.0"
