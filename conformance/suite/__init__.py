"""`conformance suite`: run the pytest suite (suites/) against a daemon and write the compatibility report."""
