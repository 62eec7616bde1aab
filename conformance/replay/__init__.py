"""Replay: a fake daemon answering from a capture (`replay serve`); re-sending one to a daemon (`replay send`)."""

from .engine import Match, MatchRuleError, MatchRules, ReplayBook

__all__ = ["Match", "MatchRuleError", "MatchRules", "ReplayBook"]
