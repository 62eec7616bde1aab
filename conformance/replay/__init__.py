"""Replay: a fake daemon answering from a capture (`replay serve`); re-sending one to a daemon (`replay send`)."""

from .engine import Match, ReplayBook

__all__ = ["Match", "ReplayBook"]
