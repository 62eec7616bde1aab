"""report.html: one self-contained page (inline CSS, no scripts) with the endpoint matrix and the evidence."""

from __future__ import annotations

from html import escape

from .markdown import summary_lines

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}
.pass{background:#d9f2d9}.fail{background:#f8d0d0}.skip,.noted{background:#fff2c2}
.untested,.not-exercised,.client{background:#eee;color:#666}
.figure{display:inline-block;margin:.3em 1em .3em 0;padding:.5em 1em;border-radius:6px;background:#f3f3f3}
.figure b{font-size:1.4em;display:block}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f7f7f7;padding:.5em;white-space:pre-wrap;word-break:break-all;margin:.3em 0}
details{margin:.2em 0}summary{cursor:pointer}
.sev-error{color:#a00}.sev-warning{color:#a60}.sev-info{color:#446}
"""


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def _exchange(ex: dict) -> str:
    findings = "".join(
        f"<li class='sev-{_e(f['severity'])}'><code>{_e(f['rule'])}</code> [{_e(f['side'])}] "
        f"{_e(f['where'])}: {_e(f['message'])}" + (f"<pre>{_e(f['evidence'])}</pre>" if f["evidence"] else "")
        + "</li>" for f in ex.get("findings", []))
    headers = "\n".join(f"{k}: {v}" for k, v in ex.get("response_headers") or [])
    return (f"<details id='ex-{_e(ex['id'])}'><summary><code>{_e(ex['id'])}</code> {_e(ex['method'])} "
            f"<code>{_e(ex['target'])}</code> → {_e(ex.get('status'))} <small>({_e(ex.get('test'))})</small>"
            f"</summary><div><b>request body</b><pre>{_e(ex.get('request') or '(none)')}</pre>"
            f"<b>response head</b><pre>{_e(headers)}</pre><b>response body</b>"
            f"<pre>{_e(ex.get('response') or '(none)')}</pre><ul>{findings}</ul>"
            + (f"<p>{_e(ex['note'])}</p>" if ex.get("note") else "") + "</div></details>")


def render_html(report: dict) -> str:
    exchanges = {ex["id"]: ex for ex in report.get("exchanges", [])}
    s = report["summary"]
    name = report["target"].get("name", "?")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>v1.14 compatibility: {_e(name)}"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>Docker Remote API v1.14 compatibility: {_e(name)}</h1>",
             "<p>" + "<br>".join(_e(line) for line in summary_lines(report)) + "</p>"]
    parts.append("<div>")
    parts.append(f"<span class='figure'><b>{_pct(s['test_compliance'])}</b>tests passed</span>")
    parts.append(f"<span class='figure'><b>{_pct(s['rule_compliance'])}</b>rules kept</span>")
    for sec in report["sections"]:
        parts.append(f"<span class='figure'><b>{_pct(sec['compliance'])}</b>{_e(sec['name'])} "
                     f"({sec['passed']}/{sec['judged']} endpoints)</span>")
    parts.append("</div>")

    parts.append("<h2>Endpoints</h2><table><tr><th>Endpoint</th><th>Route</th><th>Result</th><th>Exchanges</th>"
                 "<th>Statuses</th><th>Tests p/f/s</th><th>Rules broken</th></tr>")
    for ep_id, e in report["endpoints"].items():
        t = e["tests"]
        broken = ", ".join(f"<a href='#rule-{_e(r)}'><code>{_e(r)}</code></a>×{n}"
                           for r, n in e["rules_failed"].items())
        failed = "".join(f"<div><small>✗ {_e(n)}</small></div>" for n in e["failed_tests"])
        parts.append(f"<tr class='{_e(e['status'])}'><td><code>{_e(ep_id)}</code></td><td>{_e(e['method'])} "
                     f"<code>{_e(e['path'])}</code></td><td>{_e(e['status'])}</td><td>{e['exchanges']}</td>"
                     f"<td>{_e(' '.join(f'{k}×{v}' for k, v in e['statuses'].items()))}</td>"
                     f"<td>{t['passed']}/{t['failed'] + t['error']}/{t['skipped']}</td><td>{broken}{failed}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Rules</h2><table><tr><th>Rule</th><th>Severity</th><th>Result</th><th>Judged</th>"
                 "<th>Findings</th><th>Statement and evidence</th></tr>")
    for rid, r in report["rules"].items():
        ev = ""
        if r["evidence"]:
            items = []
            for x in r["evidence"]:
                ex = exchanges.get(x["exchange"])
                items.append(f"<li><code>{_e(x['exchange'])}</code> {_e(x['endpoint'] or '')} {_e(x['where'])}: "
                             f"{_e(x['message'])}" + (f"<pre>{_e(x['evidence'])}</pre>" if x["evidence"] else "")
                             + (_exchange(ex) if ex else "") + "</li>")
            ev = f"<details><summary>{len(r['evidence'])} example(s)</summary><ul>{''.join(items)}</ul></details>"
        parts.append(f"<tr id='rule-{_e(rid)}' class='{_e(r['status'])}'><td><code>{_e(rid)}</code></td>"
                     f"<td class='sev-{_e(r['severity'])}'>{_e(r['severity'])}</td><td>{_e(r['status'])}</td>"
                     f"<td>{r['exchanges_judged']}</td><td>{r['findings']}</td><td>{_e(r['statement'])}{ev}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Tests</h2><table><tr><th>Test</th><th>Result</th><th>Seconds</th><th>Endpoints</th>"
                 "<th>Details</th></tr>")
    for t in report["tests"]:
        detail = ""
        if t["outcome"] in ("failed", "error"):
            shown = "".join(_exchange(exchanges[i]) for i in t.get("shown_exchanges", []) if i in exchanges)
            detail = (f"<details><summary>why</summary><pre>{_e(t.get('message', ''))}</pre>{shown}</details>")
        elif t["outcome"] == "skipped" and t.get("message"):
            detail = f"<small>{_e(t['message'])}</small>"
        cls = {"passed": "pass", "failed": "fail", "error": "fail", "skipped": "skip"}.get(t["outcome"], "")
        parts.append(f"<tr class='{cls}'><td><code>{_e(t['nodeid'])}</code></td><td>{_e(t['outcome'])}</td>"
                     f"<td>{t.get('seconds', 0):.2f}</td><td>{_e(', '.join(t.get('endpoints') or []))}</td>"
                     f"<td>{detail}</td></tr>")
    parts.append("</table>")
    parts.append(f"<p><small>schema {report['schema']}; run {_e(report['started'])}; options "
                 f"{_e(report.get('options'))}</small></p></body></html>")
    return "\n".join(parts) + "\n"
