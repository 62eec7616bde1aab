"""Docker Remote API v1.14 conformance: rule book, sans-IO checker, and the tools built on them."""

__version__ = "0.1.0"
