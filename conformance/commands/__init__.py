"""Subcommands that only read the rule book and captures (rules, check)."""
