"""The v1.14 conformance suite: a pytest plugin (suites.plugin) and the tests that exercise a daemon."""
