"""What a run exercised, from its exchange records: routes, parameters and body fields sent (and with
generated values), negative requests per route, and the failures grouped by root cause."""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import parse_qsl, urlsplit

from ..spec import RULEBOOK

SUITE_ASSERTION = "suite assertion"


def _query_keys(target: str) -> list[str]:
    return [f"?{k}" for k, _ in parse_qsl(urlsplit(target).query, keep_blank_values=True)]


def coverage(records: list[dict]) -> dict:
    """Per route and in total: requests, generated examples, negative requests, parameters and fields."""
    by_route: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        if rec.get("endpoint"):
            by_route[rec["endpoint"]].append(rec)
    per_route: dict[str, dict] = {}
    totals = {"params": [0, 0, 0], "fields": [0, 0, 0]}  # total, sent, with generated values
    for ep in RULEBOOK:
        recs = by_route.get(ep.id, [])
        params = {f"?{p.name}" for p in ep.params}
        fields = {f.name for f in ep.body.fields}
        sent: set[str] = set()
        generated: set[str] = set()
        for rec in recs:
            keys = set(rec.get("sent") or []) | set(_query_keys(rec.get("target", "")))
            sent |= keys
            if rec.get("example"):
                generated |= keys
        negative = sum(1 for r in recs if r.get("cause"))
        per_route[ep.id] = {
            "requests": len(recs), "examples": len({r["example"] for r in recs if r.get("example")}),
            "negative": negative, "causes": sorted({r["cause"] for r in recs if r.get("cause")}),
            "params": len(params), "params_sent": sorted(params & sent), "params_generated": sorted(params & generated),
            "fields": len(fields), "fields_sent": sorted(fields & sent), "fields_generated": sorted(fields & generated),
        }
        for kind, names in (("params", params), ("fields", fields)):
            totals[kind][0] += len(names)
            totals[kind][1] += len(names & sent)
            totals[kind][2] += len(names & generated)
    routes = {"total": len(per_route), "exercised": sum(1 for r in per_route.values() if r["requests"]),
              "negative": sum(1 for r in per_route.values() if r["negative"])}
    return {
        "routes": routes,
        "params": dict(zip(("total", "sent", "generated"), totals["params"], strict=True)),
        "fields": dict(zip(("total", "sent", "generated"), totals["fields"], strict=True)),
        "per_route": per_route,
    }


_IDS = re.compile(r"\b[0-9a-f]{12,64}\b|v114s-[0-9a-f]{6}-[a-z0-9-]+")


def root_causes(records: list[dict], tests: list[dict]) -> list[dict]:
    """Failing tests grouped by what broke: for a suite assertion, the rule, the cause and the answer
    (ids and run names masked); for a checker finding, the rule. Largest group first."""
    groups: dict[tuple, dict] = {}
    failed = {t["nodeid"] for t in tests if t.get("outcome") in ("failed", "error")}
    for rec in records:
        test = (rec.get("test") or "").removesuffix(" (setup)")  # a test's setup exchanges are its own
        if test not in failed:
            continue
        for f in rec.get("findings", []):
            if f.get("side") != "daemon" or f.get("severity") not in ("error", "warning"):
                continue
            if f.get("where") == SUITE_ASSERTION:
                key = (f["rule"], rec.get("cause") or "success", rec.get("status"), _IDS.sub("…", f["evidence"])[:120])
            else:
                key = (f["rule"], "", None, "")
            g = groups.setdefault(key, {"rule": key[0], "cause": key[1], "status": key[2], "answer": key[3],
                                        "tests": set(), "endpoints": set(), "example": f.get("message", "")})
            g["tests"].add(test)
            g["endpoints"].add(rec.get("endpoint") or "?")
    out = [{**g, "tests": sorted(g["tests"]), "endpoints": sorted(g["endpoints"])} for g in groups.values()]
    return sorted(out, key=lambda g: (-len(g["tests"]), g["rule"]))


def oracle_differences(records: list[dict]) -> dict | None:
    """With `--v114-oracle reference`: how many exchanges the reference answered differently, by kind and
    route; differences where the reference simplifies are counted apart. None when no oracle ran."""
    mirrored = [r for r in records if r.get("oracle_label")]
    if not mirrored:
        return None
    blamed = [r for r in mirrored if r["oracle_label"] == "differs"]
    simplified = [r for r in mirrored if r["oracle_label"] == "reference-simplifies"]
    kinds: dict[str, int] = defaultdict(int)
    routes: dict[str, int] = defaultdict(int)
    mirrored_routes: dict[str, int] = defaultdict(int)
    for r in mirrored:
        mirrored_routes[r.get("endpoint") or "?"] += 1
    for r in blamed:
        routes[r.get("endpoint") or "?"] += 1
        for d in r["oracle"]:
            kinds[d["kind"]] += 1
    return {"exchanges": len(mirrored), "differing": len(blamed),
            "reference_simplifies": len(simplified),
            "by_kind": dict(sorted(kinds.items())), "by_route": dict(sorted(routes.items())),
            "mirrored_by_route": dict(sorted(mirrored_routes.items())),
            "examples": [{"exchange": r["id"], "test": r.get("test"), "endpoint": r.get("endpoint"),
                          "target": r["target"], "differences": r["oracle"][:5]} for r in blamed[:20]]}
