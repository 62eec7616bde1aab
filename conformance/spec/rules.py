"""The rule catalogue: every rule id the checker can report, with its severity and statement.

Ids are stable: tools ignore them by name (`--ignore`), reports group by them, the reference daemon
breaks them on purpose (`--deviate`). Add rules; never rename or reuse an id.
"""

from __future__ import annotations

from .model import Rule, Severity

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

_RULES: tuple[Rule, ...] = (
    # --- routing and versions (notes §0.1, §1, §4.2) ---
    Rule("v114.route.unknown", ERR, "The method and path name a route of the v1.14 API (1.2.0 answers "
         "anything else with 404 `404 page not found`).", "route", "notes §0.1"),
    Rule("v114.route.later-api", INFO, "The route belongs to a later API version, not to v1.14.", "route",
         "notes §1"),
    Rule("v114.route.undocumented", INFO, "The route was served by 1.2.0 but is not in the v1.14 doc "
         "(/containers/ps, /images/viz, resize, OPTIONS).", "route", "notes §1"),
    Rule("v114.version.other", INFO, "The request is prefixed with a version other than /v1.14/; the "
         "checker judges it by the v1.14 rules anyway.", "route", "notes §0.1"),
    Rule("v114.version.too-new-served", WARN, "A request prefixed with a version above 1.14 is refused "
         "with 404 `client and server don't have same version` by a v1.14 server.", "status",
         "notes §0.1, §4.2"),
    # --- query parameters (notes §0.3) ---
    Rule("v114.param.unknown", INFO, "Every query parameter is one the v1.14 server reads on this route.",
         "param", "notes §2"),
    Rule("v114.param.undocumented", INFO, "The parameter is read by 1.2.0 but missing from the v1.14 doc.",
         "param", "notes §5.17"),
    Rule("v114.param.bool", INFO, "Boolean parameters use 1/0 or true/false; 1.2.0 reads any other text "
         "except ''/0/no/false/none as true.", "param", "notes §0.3"),
    Rule("v114.param.int", WARN, "Integer parameters are decimal integers; 1.2.0 reads anything else as 0 "
         "silently.", "param", "notes §0.3"),
    Rule("v114.param.strict-int", ERR, "resize h and w are decimal integers (1.2.0 answers 500 otherwise).",
         "param", "notes §0.3"),
    Rule("v114.param.filters", ERR, "filters is a JSON object mapping names to lists of strings.", "param",
         "doc List containers; notes §2"),
    Rule("v114.param.name", ERR, "A container name matches ^/?[a-zA-Z0-9_.-]+$.", "param",
         "notes §2 create, §5.19"),
    Rule("v114.param.signal", ERR, "kill's signal is a number 1-31 or a signal name with or without SIG.",
         "param", "notes §2 kill"),
    Rule("v114.param.required", ERR, "A parameter the route needs is present (tag: repo; logs: stdout or "
         "stderr).", "param", "notes §2"),
    Rule("v114.param.stop-timeout", WARN, "stop/restart send t: 1.2.0 treats an omitted t as 0 s, not the "
         "doc's default wait.", "param", "notes §0.3, §5.22"),
    Rule("v114.param.doc-only", WARN, "The parameter is in the doc but 1.2.0 never reads it (commit m, "
         "images/create registry).", "param", "notes §5.15-16"),
    # --- request bodies (notes §0.4, §4.1) ---
    Rule("v114.request.json", ERR, "A JSON request body is one JSON object.", "body", "notes §0.4"),
    Rule("v114.request.field-type", WARN, "JSON body fields have the types the doc gives (1.2.0 coerces "
         "loosely; later daemons reject).", "body", "notes §0.4"),
    Rule("v114.request.field-unknown", INFO, "JSON body keys are fields v1.14 reads on this route.", "body",
         "notes §0.4"),
    Rule("v114.request.field-ignored", WARN, "The field is shown by the doc but ignored by 1.2.0 on this "
         "route (HostConfig at create, DisableNetwork, LxcConf as a map).", "body", "notes §2, §5"),
    Rule("v114.request.content-type", ERR, "start (with a body) and copy send Content-Type "
         "application/json; 1.2.0 answers 500 otherwise.", "header", "notes §4.1"),
    Rule("v114.request.form-body", ERR, "No JSON-bodied POST is sent as application/x-www-form-urlencoded "
         "(1.2.0 consumes the body as a form).", "header", "notes §0.3"),
    Rule("v114.request.unexpected-body", WARN, "Routes that read no body are sent none.", "body", "doc"),
    Rule("v114.request.missing-body", ERR, "Routes that need a body are sent one (copy, load, import with "
         "fromSrc=-).", "body", "doc"),
    Rule("v114.request.tar", ERR, "Tar request bodies (build, load, import) are readable tar archives.",
         "tar", "doc Build, Load"),
    Rule("v114.request.dockerfile", ERR, "A build context holds a Dockerfile at its root.", "tar", "doc Build"),
    Rule("v114.request.chunked-start", WARN, "start's HostConfig is sent with a Content-Length: 1.2.0 "
         "ignores chunked bodies.", "body", "notes §2 start"),
    # --- statuses (notes §0.2) ---
    Rule("v114.status.unexpected", ERR, "The status is one the route can answer with in v1.14.", "status",
         "notes §0.2, §2"),
    Rule("v114.status.doc-only", WARN, "The status is listed by the doc but 1.2.0 never answers it on this "
         "route (e.g. wait on an unknown container is 500, not 404).", "status", "notes §5.13-14"),
    Rule("v114.outcome.status", WARN, "For each cause (unknown container or image, name conflict, bad or "
         "missing parameter, content type, body, container state, unreachable registry) the status is 1.2.0's, "
         "and a request 1.2.0 serves (lenient forms included) succeeds; asserted by the suite from the rule "
         "book's outcomes.", "status", "notes §0.2-§0.4, §2, §6.2"),
    Rule("v114.outcome.body", WARN, "An answer to a cause has 1.2.0's body form: its Content-Type and the "
         "message 1.2.0 words (`No such container: x`, an empty 404 for copy, ...); asserted by the suite.",
         "body", "notes §0.2, §2"),
    Rule("v114.lifecycle.state", ERR, "After a lifecycle transition the container is in the state the "
         "transition leads to (inspect State.Running/Paused, the running list, wait's exit code); asserted by "
         "the suite's state machine.", "status", "doc Containers; notes §2"),
    Rule("v114.status.no-body", ERR, "204 and 304 responses carry no body.", "status", "RFC 9110; notes §0.2"),
    Rule("v114.status.reason", INFO, "The reason phrase matches the status (the doc shows `201 OK`, "
         "`204 OK`; Go writes `Created`, `No Content`).", "status", "notes §5.10"),
    # --- content types (notes §0.6) ---
    Rule("v114.content-type.mismatch", ERR, "The response Content-Type is one the route sends in v1.14.",
         "content-type", "notes §0.6, §2"),
    Rule("v114.content-type.missing", ERR, "JSON responses carry Content-Type application/json.",
         "content-type", "notes §0.6"),
    # --- error bodies (notes §0.2, §4.5) ---
    Rule("v114.error.plain-text", WARN, "Error responses are plain text (text/plain; charset=utf-8), the "
         "message followed by a newline, never JSON.", "error", "notes §0.2"),
    Rule("v114.error.empty", INFO, "Error responses carry a message (1.2.0's copy of an unknown container is "
         "the one empty 404).", "error", "notes §2 copy"),
    # --- JSON response bodies (notes §0.5) ---
    Rule("v114.json.invalid", ERR, "A JSON response body parses as JSON.", "json", "doc"),
    Rule("v114.json.schema", ERR, "A JSON response body has the shape v1.14 gives it (required keys, types).",
         "json", "doc; notes §2"),
    Rule("v114.json.null-list", WARN, "Lists are `[]` when empty, not `null` (20.10's changes returns null).",
         "json", "notes §2 changes"),
    Rule("v114.json.extra-field", INFO, "Response objects hold no keys beyond the v1.14 shape (later daemons "
         "add fields).", "json", "notes §6"),
    Rule("v114.json.type-drift", WARN, "Fields keep their 1.2.0 JSON types (/info's Debug, MemoryLimit, "
         "SwapLimit and IPv4Forwarding are 0/1 integers, not booleans).", "json", "notes §0.5, §2 info"),
    Rule("v114.json.id-format", WARN, "Container and image ids are 64 lower-case hex digits, no `sha256:` "
         "prefix.", "json", "notes §2"),
    Rule("v114.json.api-version", WARN, "/version reports ApiVersion 1.14.", "json", "notes §2 version"),
    # --- JSON-message streams (notes §3.4) ---
    Rule("v114.jsonmessage.invalid", ERR, "A JSON-message stream is a sequence of JSON objects.", "stream",
         "notes §3.4"),
    Rule("v114.jsonmessage.field", WARN, "JSON messages use only the v1.14 keys (stream, status, "
         "progressDetail, progress, id, from, time, errorDetail, error).", "stream", "notes §3.4"),
    Rule("v114.jsonmessage.error-form", ERR, "An in-band error carries both `error` (string) and "
         "`errorDetail` (object with `message`).", "stream", "notes §3.4"),
    Rule("v114.jsonmessage.truncated", ERR, "A JSON-message stream ends at an object boundary.", "stream",
         "notes §3.4"),
    # --- events (notes §2 events) ---
    Rule("v114.events.invalid", ERR, "The events stream is a sequence of JSON objects with status, id and "
         "time.", "stream", "doc Monitor events"),
    Rule("v114.events.status", WARN, "Event statuses are ones v1.14 emits (create, start, die, stop, kill, "
         "restart, pause, unpause, export, destroy, untag, delete).", "stream", "notes §2 events"),
    Rule("v114.events.separator", INFO, "1.2.0 writes events back to back with no separator; the doc says one "
         "per line (clients must accept both).", "stream", "notes §5.21"),
    Rule("v114.events.window", ERR, "Events respect since/until.", "stream", "doc Monitor events"),
    # --- multiplexed frames (notes §3.2) ---
    Rule("v114.frame.stream-type", ERR, "Frame stream types are 0 (stdin), 1 (stdout) or 2 (stderr); type 3 "
         "came later.", "frame", "notes §3.2"),
    Rule("v114.frame.padding", ERR, "Bytes 1-3 of a frame header are zero.", "frame", "notes §3.2"),
    Rule("v114.frame.truncated", ERR, "A multiplexed stream ends at a frame boundary.", "frame", "notes §3.2"),
    Rule("v114.frame.oversized", WARN, "A frame's payload stays under the configured limit.", "frame",
         "checker limit"),
    Rule("v114.frame.tty-unknown", INFO, "The checker knows whether the container has a TTY (raw stream) or "
         "not (frames).", "frame", "notes §3.2"),
    Rule("v114.frame.raw-expected", ERR, "TTY containers' streams are raw bytes, not frames.", "frame",
         "notes §3.2"),
    # --- hijacked attach (notes §3.1) ---
    Rule("v114.hijack.status", ERR, "attach answers 200 with application/vnd.docker.raw-stream, or 101 "
         "UPGRADED when the client asked to upgrade.", "hijack", "notes §3.1"),
    Rule("v114.hijack.upgrade", INFO, "The client asked for `Upgrade: tcp` and got 101 (the later style, not "
         "v1.14's 200).", "hijack", "notes §3.1"),
    Rule("v114.hijack.content-type", ERR, "The hijacked response says Content-Type "
         "application/vnd.docker.raw-stream.", "hijack", "notes §3.1"),
    Rule("v114.websocket.opcode", WARN, "Websocket attach sends text frames at v1.14.", "hijack",
         "notes §3.3"),
    # --- tar bodies (notes §3.7) ---
    Rule("v114.tar.invalid", ERR, "Tar response bodies (export, copy, images get) are readable tar "
         "archives.", "tar", "notes §3.7"),
    Rule("v114.tar.image-layout", ERR, "images/{name}/get holds `repositories` and, per layer, "
         "`<id>/VERSION`, `<id>/json`, `<id>/layer.tar`.", "tar", "doc Image tarball format"),
    Rule("v114.tar.copy-resource", WARN, "A copy tar holds the requested resource's base name.", "tar",
         "doc Copy"),
    # --- other body rules ---
    Rule("v114.text.ping", ERR, "/_ping answers `OK`.", "body", "doc Ping"),
    Rule("v114.body.expected-empty", WARN, "Routes that 1.2.0 answers with an empty body (tag, load, "
         "resize) send none.", "body", "notes §2"),
    Rule("v114.body.truncated", ERR, "The body is complete: as long as Content-Length, or ended by the "
         "chunked terminator.", "body", "RFC 9112"),
    Rule("v114.body.limit", INFO, "The checker inspected the body only up to its buffering limit.", "body",
         "checker limit"),
    # --- headers (notes §0.6, §4.4) ---
    Rule("v114.header.later", INFO, "The response carries headers 1.2.0 never sent (Server, Api-Version, "
         "Ostype, Docker-Experimental).", "header", "notes §4.4"),
    # --- HTTP/1 framing as the proxy relays it (RFC 9112; 1.2.0 is Go net/http) ---
    Rule("v114.http.malformed", ERR, "A message head (request line or status line and header fields) and "
         "a chunked body follow HTTP/1.1 syntax.", "http", "RFC 9112 §2-§7"),
    Rule("v114.http.framing-conflict", ERR, "A message does not carry Content-Length together with "
         "Transfer-Encoding (Go net/http never sends both; the chunked framing is the one used).", "http",
         "RFC 9112 §6.1"),
    Rule("v114.http.head-too-large", ERR, "A message head fits in 64 KiB (Go net/http reads at most 1 MiB "
         "of request head and 1.2.0's own heads are a few hundred bytes).", "http", "RFC 9112 §2.3"),
    Rule("v114.http.unsolicited-continue", WARN, "A `100 Continue` comes only after a request that sent "
         "`Expect: 100-continue` (legal HTTP, but 1.2.0 never sends one otherwise).", "http",
         "RFC 9110 §15.2.1"),
    Rule("v114.websocket.invalid", ERR, "Websocket attach frames from the daemon follow RFC 6455 framing "
         "(unmasked, known opcodes, valid lengths).", "websocket", "RFC 6455 §5"),
    Rule("v114.checker.internal", INFO, "The checker failed on this exchange (a bug of this tool, not of "
         "the daemon); the exchange was still relayed, logged and recorded, but judged only in part.",
         "checker", "this tool"),
)

RULES: dict[str, Rule] = {r.id: r for r in _RULES}
assert len(RULES) == len(_RULES), "duplicate rule id"


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names the id when it is not in the catalogue."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule id {rule_id!r}") from None
