"""1.2.0's reading of query-parameter values: declared in `conformance.spec.values` (the daemon reads it
too, and the daemon never imports the checker's packages); re-exported here for the checker."""

from ..spec.values import (  # noqa: F401
    NAME_RE,
    SIGNALS,
    bool_is_canonical,
    filters_are_valid,
    int_is_valid,
    parse_bool,
    parse_int,
    signal_is_valid,
    signal_number,
)
