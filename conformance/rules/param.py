"""Query parameters as 1.2.0 parses them (notes §0.3, §2)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("param", Side.REQUEST)

rule("v114.param.unknown", INFO,
     "Every query parameter is one the v1.14 server reads on this route.",
     "notes §2")
rule("v114.param.undocumented", INFO,
     "The parameter is read by 1.2.0 but missing from the v1.14 doc.",
     "notes §5.17")
rule("v114.param.bool", INFO,
     "Boolean parameters use 1/0 or true/false; 1.2.0 reads any other text except ''/0/no/false/none as true.",
     "notes §0.3")
rule("v114.param.int", WARN,
     "Integer parameters are decimal integers; 1.2.0 reads anything else as 0 silently.",
     "notes §0.3")
rule("v114.param.strict-int", ERR,
     "resize h and w are decimal integers (1.2.0 answers 500 otherwise).",
     "notes §0.3")
rule("v114.param.filters", ERR,
     "filters is a JSON object mapping names to lists of strings.",
     "doc List containers; notes §2")
rule("v114.param.name", ERR,
     "A container name matches ^/?[a-zA-Z0-9_.-]+$.",
     "notes §2 create, §5.19")
rule("v114.param.signal", ERR,
     "kill's signal is a number 1-31 or a signal name with or without SIG.",
     "notes §2 kill")
rule("v114.param.required", ERR,
     "A parameter the route needs is present (tag: repo; logs: stdout or stderr).",
     "notes §2")
rule("v114.param.stop-timeout", WARN,
     "stop/restart send t: 1.2.0 treats an omitted t as 0 s, not the doc's default wait.",
     "notes §0.3, §5.22")
rule("v114.param.filter-key", WARN,
     "filters names only keys 1.2.0 honours on the route; it ignores any other key silently (later daemons "
     "filter by it, or refuse it).",
     "notes §2 containers/json, images/json")
rule("v114.param.doc-only", WARN,
     "The parameter is in the doc but 1.2.0 never reads it (commit m, images/create registry).",
     "notes §5.15-16")


# -- checks --------------------------------------------------------------------------------------
import json as _json  # noqa: E402

from ..spec.model import Cause, ParamKind  # noqa: E402
from ..streams.values import (  # noqa: E402
    NAME_RE,
    bool_is_canonical,
    filters_are_valid,
    int_is_valid,
    parse_bool,
    signal_is_valid,
)
from .registry import Phase, check, hit  # noqa: E402

_routed = lambda x: x.endpoint is not None  # noqa: E731


@check("v114.param.unknown", "v114.param.doc-only", "v114.param.undocumented", phase=Phase.REQUEST_HEAD,
       when=_routed)
def params_known(x):
    ep = x.endpoint
    for name, value in x.query:
        p, where, ev = ep.param(name), f"param:{name}", f"{name}={value}"
        if p is None:
            yield hit("v114.param.unknown", f"{ep.id} reads no query parameter {name!r}", where, ev)
        elif not p.read:
            yield hit("v114.param.doc-only", f"{name!r} is in the doc for {ep.id} but 1.2.0 never reads it",
                      where, ev)
        elif not p.documented:
            yield hit("v114.param.undocumented", f"{name!r} is read by 1.2.0 but not documented for {ep.id}",
                      where, ev)


@check("v114.param.bool", "v114.param.int", "v114.param.strict-int", "v114.param.filters", "v114.param.name",
       "v114.param.signal", "v114.param.filter-key", phase=Phase.REQUEST_HEAD, when=_routed)
def param_values(x):
    for name, value in x.query:
        p = x.endpoint.param(name)
        if p is not None:
            yield from _value(p, name, value)


def _value(p, name: str, value: str):
    where, ev, kind = f"param:{name}", f"{name}={value}", p.kind
    if kind is ParamKind.BOOL and not bool_is_canonical(value):
        yield hit("v114.param.bool", f"{name}={value!r} is not 1/0/true/false; 1.2.0 reads it as "
                  f"{'true' if parse_bool(value) else 'false'}", where, ev)
    elif kind is ParamKind.INT and value.strip() and not int_is_valid(value):
        yield hit("v114.param.int", f"{name}={value!r} is not an integer; 1.2.0 reads 0", where, ev)
    elif kind is ParamKind.STRICT_INT and not int_is_valid(value):
        yield hit("v114.param.strict-int", f"{name}={value!r} is not an integer; 1.2.0 answers 500", where, ev)
    elif kind is ParamKind.TAIL and value.strip() and value != "all" and not int_is_valid(value):
        yield hit("v114.param.int", f"tail={value!r} is neither `all` nor an integer; 1.2.0 reads all", where, ev)
    elif kind is ParamKind.FILTERS and value:
        try:
            parsed = _json.loads(value)
        except ValueError as exc:
            yield hit("v114.param.filters", f"filters is not JSON: {exc}", where, ev)
            return
        if not filters_are_valid(parsed):
            yield hit("v114.param.filters", "filters is not a JSON object of string lists", where, ev)
        else:
            yield from _filter_keys(p, parsed, where, ev)
    elif kind is ParamKind.NAME and value and not NAME_RE.fullmatch(value):
        yield hit("v114.param.name", f"container name {value!r} does not match {NAME_RE.pattern}", where, ev)
    elif kind is ParamKind.SIGNAL and value and not signal_is_valid(value):
        yield hit("v114.param.signal", f"{value!r} is not a signal 1.2.0 knows", where, ev)


def _filter_keys(p, parsed: dict, where: str, ev: str):
    """Filter keys 1.2.0 does not honour on this route are ignored silently (`values` lists `key=regex`)."""
    honoured = {v.split("=", 1)[0] for v in p.values}
    if not honoured:
        return
    ignored = sorted(k for k in parsed if k not in honoured)
    if ignored:
        yield hit("v114.param.filter-key", f"filter key(s) {', '.join(map(repr, ignored))}: 1.2.0 honours only "
                  f"{', '.join(sorted(honoured))} here and ignores the rest", where, ev)


@check("v114.param.required", phase=Phase.REQUEST_HEAD, when=_routed)
def params_required(x):
    ep, sent = x.endpoint, {name for name, _ in x.query}
    for p in ep.params:
        if p.required and p.name not in sent:
            yield hit("v114.param.required", f"{ep.id} needs the {p.name!r} parameter", f"param:{p.name}", x.target)
    if ep.at_least_one and not any(parse_bool(x.query_dict.get(n)) for n in ep.at_least_one):
        outcome = ep.outcome(Cause.MISSING_PARAMETER, ep.at_least_one[0])
        answer = f" (1.2.0 answers {outcome.status} `{outcome.message}`)" if outcome else ""
        yield hit("v114.param.required", f"{ep.id} needs one of {'/'.join(n + '=1' for n in ep.at_least_one)}"
                  f"{answer}", f"param:{ep.at_least_one[0]}", x.target)


@check("v114.param.stop-timeout", phase=Phase.REQUEST_HEAD, when=_routed)
def params_omitted_default(x):
    """A parameter whose 1.2.0 default differs from the doc's: omitting it means 1.2.0's, not the doc's."""
    sent = {name for name, _ in x.query}
    for p in x.endpoint.params:
        if p.doc_default is not None and p.doc_default != p.default and p.name not in sent:
            yield hit("v114.param.stop-timeout", f"{x.endpoint.id} without {p.name}: 1.2.0 assumes "
                      f"{p.name}={p.default}, not the documented {p.doc_default}", f"param:{p.name}", x.target)

