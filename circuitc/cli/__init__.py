"""The command line: `circuitc check|eval|graph|fmt|budget|compile|verify`."""

from .app import main

__all__ = ["main"]
