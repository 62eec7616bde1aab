"""`conformance rules`: list the rule catalogue and the endpoint table."""

from __future__ import annotations

import argparse
import json
import sys

from ..rules import REGISTRY, RULES
from ..spec import ENDPOINTS, LATER_ROUTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the v1.14 rules (and endpoints)",
                       description="List every rule id with its severity and statement.")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    fmt.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    fmt.add_argument("--openapi", action="store_true",
                     help="print the endpoint table as an OpenAPI 3.1 document (JSON)")
    p.add_argument("--endpoints", action="store_true", help="also list every route with what it answers")
    p.add_argument("--where", metavar="ID", action="append", default=[],
                   help="print where rule ID is declared and the file:line of each check that raises it "
                        "(repeatable; `*` patterns allowed)")
    p.set_defaults(func=run)


def _endpoint_rows() -> list[dict]:
    rows = []
    for ep in ENDPOINTS:
        rows.append({
            "id": ep.id,
            "method": ep.method,
            "path": ep.path,
            "documented": ep.documented,
            "success": [f"{r.status} {r.kind.value}" + (f" ({', '.join(r.content_types)})" if r.content_types
                                                         else "") for r in ep.responses],
            "errors": list(ep.errors),
            "doc_errors": list(ep.doc_errors),
            "params": [p.name + ("" if p.documented else "*") + f":{p.kind.value}" for p in ep.params],
            "body": ep.body.kind.value,
            "hijacked": ep.hijacked,
            "errata": [{"doc": e.doc, "implementation": e.implementation, "source": e.source}
                       for e in ep.errata],
        })
    return rows


def _where(patterns: list[str], *, as_json: bool) -> int:
    import fnmatch

    ids = [rid for rid in sorted(RULES) if any(fnmatch.fnmatchcase(rid, p) for p in patterns)]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(rid, p) for rid in RULES)]
    if unknown:
        print(f"conformance rules: no rule matches {', '.join(map(repr, unknown))} "
              "(`conformance rules` lists them)", file=sys.stderr)
        return 2
    found = {rid: REGISTRY.where(rid) for rid in ids}
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    for rid, w in found.items():
        r = RULES[rid]
        print(f"{rid}  {r.severity.value}  side={r.side}  applies: {r.applies.describe() if r.applies else '-'}")
        print(f"  {w['declared']}  declared ({r.family})")
        for c in w["checks"]:
            print(f"  {c['at']}  {c['name']} ({c['phase']})")
        if not w["checks"] and r.applies is not None and r.applies.asserted:
            print("  asserted by the suite (suites/expect.py), not by the checker")
        elif not w["checks"]:
            print("  (no check raises it)")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.openapi:
        from ..spec.openapi import openapi_document

        print(json.dumps(openapi_document(), indent=2))
        return 0
    if args.where:
        return _where(args.where, as_json=args.json)
    rules = sorted(RULES.values(), key=lambda r: r.id)
    if args.json:
        out = {"rules": [{"id": r.id, "severity": r.severity.value, "aspect": r.aspect,
                          "statement": r.statement, "source": r.source, "family": r.family, "side": r.side,
                          "applies": r.applies.describe() if r.applies else ""} for r in rules]}
        if args.endpoints:
            out["endpoints"] = _endpoint_rows()
            out["later_routes"] = [{"method": lr.method, "path": lr.path, "since": lr.since}
                                   for lr in LATER_ROUTES]
        print(json.dumps(out, indent=2))
        return 0
    if args.markdown:
        print("| rule | severity | statement | source |")
        print("|---|---|---|---|")
        for r in rules:
            print(f"| `{r.id}` | {r.severity.value} | {_md(r.statement)} | {_md(r.source)} |")
        if args.endpoints:
            print()
            print("| endpoint | route | success | errors (1.2.0) | body | params (* undocumented) |")
            print("|---|---|---|---|---|---|")
            for row in _endpoint_rows():
                print(f"| `{row['id']}` | `{row['method']} {row['path']}`{'' if row['documented'] else ' *'} | "
                      f"{_md('; '.join(row['success']))} | {', '.join(map(str, row['errors']))} | "
                      f"{row['body']}{' (hijacked)' if row['hijacked'] else ''} | "
                      f"{_md(', '.join(row['params']))} |")
        return 0
    width = max(len(r.id) for r in rules)
    for r in rules:
        print(f"{r.id:<{width}}  {r.severity.value:<7}  {r.statement}")
    if args.endpoints:
        print()
        for row in _endpoint_rows():
            print(f"{row['id']:<24} {row['method']:<7} {row['path']:<36} {'; '.join(row['success'])}"
                  f"  errors={','.join(map(str, row['errors']))}{'  hijacked' if row['hijacked'] else ''}")
    return 0


def _md(text: str) -> str:
    return text.replace("|", "\\|")
