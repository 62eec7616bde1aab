"""Replay: a fake daemon answering from a capture (`conformance replay serve`)."""

from .engine import Match, ReplayBook

__all__ = ["Match", "ReplayBook"]
