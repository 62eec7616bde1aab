"""A fuzzer against one `conformance serve`: requests generated from the rule book, none may break it.

Methods, paths and parameter names come from conformance.spec; values are drawn per parameter kind (huge
integers included), bodies per body kind: JSON of random shape and depth for JSON routes, tars with random
members (image-tarball and build-context shapes among them) and gzip bombs for tar routes. After every
request /_ping must answer within a second; no answer may be the daemon's internal-error 500; and at the
end the daemon's memory may have grown by a bounded amount.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import time
from collections import Counter
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.daemon.app import INTERNAL_ERROR
from conformance.daemon.fixtures import busybox_tar
from conformance.spec import RULEBOOK, BodyKind, ParamKind
from tests.test_daemon_robust import HUGE, ServedDaemon, gzip_bomb

MAX_BODY, MAX_UNPACKED, MAX_DEPTH = 1 << 20, 2 << 20, 32
EXAMPLES = int(os.environ.get("CONFORMANCE_ROBUST_EXAMPLES", "150"))
RSS_GROWTH = 256 << 20
STREAMING = {BodyKind.EVENTS, BodyKind.STDIO}

settings.register_profile("daemon-robust", deadline=None, max_examples=EXAMPLES, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])

POOL = ("busybox", "busybox:latest", "fuzz-done", "fuzz-echo", "nope", "a", "0", "")


def _streams(endpoint) -> bool:
    """Answers that last as long as a container or the event stream do (the rule book says which)."""
    return endpoint.hijacked or endpoint.websocket or any(r.kind in STREAMING for r in endpoint.responses)


# --- values ------------------------------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
huge_numbers = st.sampled_from([HUGE, "-" + HUGE, "0" * 5000 + "7", "9" * 20, "-9223372036854775809", "1e400"])
integers = st.one_of(st.integers(-(1 << 70), 1 << 70).map(str), huge_numbers, texts)


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(1 << 64), 1 << 64), st.floats(allow_nan=False), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12)
deep_json = st.integers(1, 3 * MAX_DEPTH).map(_nested)
json_texts = st.one_of(json_values.map(json.dumps), deep_json, huge_numbers, texts)


def param_values(kind: ParamKind):
    if kind is ParamKind.BOOL:
        return st.one_of(st.sampled_from(["", "0", "1", "true", "false", "yes", "no", "none", " 1\t"]), texts)
    if kind in (ParamKind.INT, ParamKind.STRICT_INT):
        return integers
    if kind is ParamKind.SIGNAL:
        return st.one_of(st.sampled_from(["KILL", "SIGTERM", "0", "31", "32", "kill"]), integers)
    if kind is ParamKind.TAIL:
        return st.one_of(st.just("all"), integers)
    if kind is ParamKind.FILTERS:
        return json_texts
    return st.one_of(st.sampled_from(POOL), texts)


# --- bodies ------------------------------------------------------------------------------------------------


@st.composite
def json_bodies(draw, endpoint) -> bytes:
    fields = [f.name for f in endpoint.body.fields]
    keys = st.sampled_from(fields) if fields else texts
    obj = draw(st.dictionaries(st.one_of(keys, texts), st.one_of(json_values, deep_json.map(json.loads)),
                               max_size=6))
    text = json.dumps(obj)
    mangle = draw(st.sampled_from(["none", "none", "deep", "number", "cut", "raw"]))
    if mangle == "deep":
        text = text[:-1] + (", " if obj else "") + f'"deep": {_nested(draw(st.integers(1, 4 * MAX_DEPTH)))}}}'
    elif mangle == "number":
        text = text[:-1] + (", " if obj else "") + f'"{draw(keys)}": {draw(huge_numbers).lstrip("-") or 1}}}'
    elif mangle == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif mangle == "raw":
        text = draw(json_texts)
    return text.encode()


member_names = st.one_of(st.sampled_from(["Dockerfile", "repositories", "a" * 64 + "/json", "a" * 64 + "/layer.tar",
                                          "b" * 64 + "/json", "../escape", "/abs", "dir/", ".wh.x", "x/.wh.y"]),
                         texts.filter(bool))
member_data = st.one_of(st.binary(max_size=256), json_values.map(lambda v: json.dumps(v).encode()),
                        st.sampled_from([b"FROM busybox\nRUN echo hi\n", b"FROM busybox\nRUN seq 1 100000\n",
                                         b'{"id":"' + b"a" * 64 + b'","parent":"' + b"a" * 64 + b'"}']))


@st.composite
def tar_bodies(draw) -> bytes:
    shape = draw(st.sampled_from(["tar", "tar", "gzip", "bomb", "bytes"]))
    if shape == "bomb":
        return gzip_bomb(draw(st.integers(MAX_UNPACKED // 2, 4 * MAX_UNPACKED)))
    if shape == "bytes":
        return draw(st.binary(max_size=2048))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data, kind in draw(st.lists(st.tuples(member_names, member_data,
                                                        st.sampled_from("ffds")), max_size=6)):
            info = tarfile.TarInfo(name)
            if kind == "d":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "s":
                info.type, info.linkname = tarfile.SYMTYPE, data[:50].decode("latin-1")
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    return gzip.compress(data) if shape == "gzip" else data


@st.composite
def requests(draw):
    endpoint = draw(st.sampled_from(RULEBOOK.endpoints))
    method = endpoint.method if endpoint.method != "*" else "GET"
    if draw(st.integers(0, 19)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]))
    path = endpoint.path
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        value = draw(st.one_of(st.sampled_from(POOL[:-1]), texts.filter(bool)))
        path = path[:start] + quote(value, safe="") + path[end + 1:]
    prefix = draw(st.sampled_from(["", "/v1.14", "/v1.0", "/v1.15"]))
    query = [(p.name, draw(param_values(p.kind))) for p in endpoint.params if draw(st.booleans())]
    target = prefix + path + ("?" + urlencode(query) if query else "")
    kind = endpoint.body.kind
    headers = {}
    if kind is BodyKind.JSON_OBJECT:
        body = draw(json_bodies(endpoint))
        headers["content-type"] = draw(st.sampled_from(["application/json", "application/json",
                                                        "text/plain", "application/x-www-form-urlencoded"]))
    elif kind is BodyKind.TAR:
        body = draw(tar_bodies())
    else:
        body = draw(st.one_of(st.just(b""), st.just(b""), st.binary(max_size=128)))
    if endpoint.id == "images.push" and draw(st.booleans()):
        headers["x-registry-auth"] = draw(st.sampled_from(["e30=", "bm90IGpzb24=", "W1tbW1tbW1tbW1tbW1s="]))
    return endpoint, method, target, headers, body


# --- the test ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def daemon():
    with ServedDaemon("--max-body", str(MAX_BODY), "--max-unpacked", str(MAX_UNPACKED),
                      "--max-json-depth", str(MAX_DEPTH)) as served:
        api = served.api
        assert api.post("/images/create", params={"fromSrc": "-", "repo": "busybox"},
                        content=busybox_tar()).status_code == 200
        for name, cmd in (("fuzz-done", ["true"]), ("fuzz-echo", ["sh", "-c", "echo out; echo err >&2"])):
            r = api.post("/containers/create", params={"name": name}, json={"Image": "busybox", "Cmd": cmd})
            assert r.status_code == 201, r.text
            assert api.post(f"/containers/{name}/start").status_code == 204
        yield served


def test_generated_requests_never_break_the_daemon(daemon):
    api = daemon.api
    before = daemon.memory()
    seen: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    started = time.monotonic()

    @settings(settings.get_profile("daemon-robust"))
    @given(request=requests())
    def one(request):
        endpoint, method, target, headers, body = request
        seen[endpoint.id] += 1
        sent["json" if body[:1] in (b"{", b"[") else "gzip" if body[:2] == b"\x1f\x8b" else "other"] += 1
        timeout = 1.0 if _streams(endpoint) else 10.0
        try:
            r = api.request(method, target, headers=headers, content=body, timeout=timeout)
        except httpx.ReadTimeout:
            assert _streams(endpoint), f"{method} {target} took more than {timeout} s"
        except httpx.RemoteProtocolError:
            pass  # a hijacked answer httpx cannot read; the ping below says whether the daemon is fine
        else:
            assert not r.content.startswith(INTERNAL_ERROR.encode()), f"{method} {target}: {r.text[:300]}"
            assert b"Traceback" not in r.content[:4096]
        assert daemon.ping_time() < 1, f"/_ping slow after {method} {target}"

    one()
    took = time.monotonic() - started
    growth = daemon.memory() - before
    log = daemon.stderr()
    assert INTERNAL_ERROR not in log and "Traceback" not in log, log[-2000:]
    assert growth < RSS_GROWTH, f"RSS grew by {growth >> 20} MiB over {sum(seen.values())} requests"
    # a run that tested nothing must not pass: most routes and every body shape were exercised
    # (the routes are drawn at random: 150 draws over 39 routes reach 28-35 of them; 20 says the run was broad)
    assert sum(seen.values()) >= EXAMPLES and len(seen) >= min(20, len(RULEBOOK.endpoints))
    assert sent["json"] and sent["gzip"] and sent["other"], sent
    print(f"\n{sum(seen.values())} requests over {len(seen)} routes in {took:.1f} s; RSS +{growth >> 20} MiB")
