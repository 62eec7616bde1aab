"""Which daemon the suite runs against: declared in `conformance.target` (the command needs it too)."""

from conformance.target import REFERENCE, ReferenceTarget, TargetChoice, choose_target, identify

__all__ = ["REFERENCE", "ReferenceTarget", "TargetChoice", "choose_target", "identify"]
