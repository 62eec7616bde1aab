"""Benchmark `conformance check` (the checker over a capture): exchanges/s and MB/s, before and after.

    .venv/bin/python bench/check.py --base REV [--rounds 5] [--copies 40] [--worktree]

The capture: one session recorded as `conformance proxy --record` records it (the embedded proxy and its
flow recorder in front of the reference daemon): pings, version/info, image and container lists,
create/inspect/start/wait, multiplexed logs of a few hundred lines and of 1 MiB, a 200-style attach,
a finite events stream, 404s and a 500; then copied --copies times into one flow file (each copy with
fresh flow ids and JSONL ids, as a long recording would hold them).

Each tree is run in a fresh interpreter on the same file, rounds interleaved (every tree once per round,
each tree first in turn), medians and best rounds reported:
- `python -m conformance check CAPTURE --format json` end to end (wall time, output to /dev/null);
- the same work in-process, split: `load_capture` (reading the flows) and `check_exchanges` (the checker).
Trees: --base in a git worktree (/tmp/bench-base), HEAD in another (/tmp/bench-head) and, with
--worktree, this checkout as it stands (uncommitted work included). MB are the payload bytes the checker
is fed (request and response bodies, hijacked bytes, websocket payloads). Writes reports/bench-check.md.
Not run in CI: it takes minutes and its figures depend on the machine.

Seconds on these machines move with whatever else runs and even between two processes of one tree: the
frame decoder, fed the same 60,000 frames, took 5.1 ms in some processes and 9.7 ms in others, for the same
file, the machine otherwise idle (one run of this bench read 0.81x where another read 1.26x for the same
trees). Hence many interleaved rounds, and instruction counts, which do not move: each tree runs under
`valgrind --tool=callgrind` on a smaller copy of the capture (--instr-copies, default 4), once only loading
it and once loading and checking it; the difference is the checker's instructions. The same tree, input and
PYTHONHASHSEED give the same count whatever else the machine is doing. --no-instructions skips this.

The checker keeps the compiled fast tests of its JSON schemas in a cache (conformance/streams/jsonbody.py);
each tree gets a cache of its own, filled by one first CLI run that is reported apart, and the instruction
counts are taken both with that cache and with an empty one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = str(ROOT / ".venv" / "bin" / "python")

# run inside each tree: load, then check, timed apart; one JSON line out
PHASES = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from conformance.capture import check_exchanges, load_capture
t0 = time.perf_counter()
exchanges = load_capture(sys.argv[2])
t1 = time.perf_counter()
results = check_exchanges(exchanges)
t2 = time.perf_counter()
size = sum(len(e.request_body or b"") + len(e.response_body or b"") + sum(len(d) for _, d in e.hijack or ())
           + sum(len(p) for _, _, p in e.websocket or ()) for e in exchanges)
print(json.dumps({"load": t1 - t0, "check": t2 - t1, "exchanges": len(exchanges), "bytes": size,
                  "findings": sum(len(f) for _, f, _ in results)}))
"""


# -- the capture -------------------------------------------------------------------------------------
def record_session(path: Path) -> int:
    """One varied session through the recording proxy in front of the reference daemon; returns its size."""
    import httpx

    from conformance.daemon import DaemonThread
    from conformance.daemonurl import parse_daemon_url
    from conformance.proxy.threaded import ProxyThread

    tmp = tempfile.mkdtemp(prefix="bench-check-")
    with DaemonThread(seed_busybox=True) as daemon_thread:
        upstream = parse_daemon_url(daemon_thread.url)
        with ProxyThread(parse_daemon_url(f"unix://{tmp}/p.sock"), upstream, record_path=str(path)) as proxy:
            url = proxy.url
            transport = httpx.HTTPTransport(uds=url.path)
            with httpx.Client(transport=transport, base_url=url.http_base, timeout=60) as api:
                since = int(time.time()) - 1
                for _ in range(3):
                    api.get("/v1.14/_ping")
                api.get("/v1.14/version")
                api.get("/v1.14/info")
                api.get("/v1.14/images/json")
                api.get("/v1.14/images/busybox/json")
                api.get("/v1.14/images/busybox/history")
                for script in ("seq 1 400", "echo out; echo err >&2; seq 1 50 >&2",
                               "yes 0123456789abcdef | head -c 1048576"):
                    cid = api.post("/v1.14/containers/create",
                                   json={"Image": "busybox", "Cmd": ["sh", "-c", script]}).json()["Id"]
                    api.get(f"/v1.14/containers/{cid}/json")
                    api.post(f"/v1.14/containers/{cid}/start")
                    api.post(f"/v1.14/containers/{cid}/wait")
                    api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "stderr": 1})
                    api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "timestamps": 1, "tail": 20})
                    api.get("/v1.14/containers/json", params={"all": 1})
                    api.delete(f"/v1.14/containers/{cid}")
                cid = api.post("/v1.14/containers/create", json={
                    "Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True,
                    "AttachStdin": True}).json()["Id"]
                api.post(f"/v1.14/containers/{cid}/start")
                _attach_200(url, cid, b"through the proxy\n" * 200)
                api.delete(f"/v1.14/containers/{cid}", params={"force": 1})
                api.get("/v1.14/containers/no-such-container/json")
                api.get("/v1.14/images/no-such-image/json")
                api.post("/v1.14/containers/create", content=b"{not json", headers={"Content-Type": "application/json"})
                api.get("/v1.14/events", params={"since": since, "until": int(time.time()) + 1})
    shutil.rmtree(tmp, ignore_errors=True)
    return len(proxy.lines)


def _attach_200(url, cid: str, stdin: bytes) -> None:
    """A v1.14 200-style attach: stdin sent, write side shut, output read to the end."""
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(url.path)
    s.sendall(f"POST /v1.14/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
              "Host: docker\r\nContent-Length: 0\r\n\r\n".encode())
    time.sleep(0.2)
    s.sendall(stdin)
    s.shutdown(socket.SHUT_WR)
    while s.recv(1 << 16):
        pass
    s.close()


def multiply(session: Path, out: Path, copies: int) -> int:
    """`copies` copies of the session's flows in one file, each flow with a new id and JSONL id."""
    from mitmproxy import io

    with session.open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    n = 0
    with out.open("wb") as f:
        writer = io.FlowWriter(f)
        for c in range(copies):
            for flow in flows:
                copy = flow.copy()  # a fresh flow id
                meta = copy.metadata.get("conformance")
                if isinstance(meta, dict):
                    meta["id"] = f"c{c:03d}-{meta.get('id')}"
                writer.add(copy)
                n += 1
    return n


# -- running the trees -------------------------------------------------------------------------------
def worktree(rev: str, where: str) -> str:
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    if Path(where).exists():
        subprocess.run(["git", "-C", where, "checkout", "-q", "--detach", sha], check=True)
    else:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", where, sha], check=True)
    return sha


CACHE = Path(tempfile.mkdtemp(prefix="bench-check-cache-"))


def tree_env(tree: str, cache: Path | None = None) -> dict:
    """The environment a tree runs in: its own cache of compiled schema tests (see jsonbody.cache_dir),
    or `cache` (an empty one, for a first run)."""
    return {**os.environ, "PYTHONPATH": tree, "CONFORMANCE_CACHE_DIR": str(cache or CACHE / Path(tree).name)}


def run_cli(tree: str, capture: str, cache: Path | None = None) -> float:
    env = tree_env(tree, cache)
    t0 = time.perf_counter()
    p = subprocess.run([PY, "-m", "conformance", "check", capture, "--format", "json"], cwd=tree, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise RuntimeError(f"check in {tree} exited {p.returncode}: {p.stderr[-800:]}")
    return wall


def run_phases(tree: str, capture: str) -> dict:
    p = subprocess.run([PY, "-c", PHASES, tree, capture], cwd=tree, env=tree_env(tree), capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(f"phases in {tree} failed: {p.stderr[-800:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


INSTR = r"""
import sys
sys.path.insert(0, sys.argv[1])
from conformance.capture import check_exchanges, load_capture
exchanges = load_capture(sys.argv[2])
if sys.argv[3] == "check":
    check_exchanges(exchanges)
"""


def run_instructions(tree: str, capture: str, mode: str, cache: Path | None = None) -> int:
    """Instructions (callgrind's count) of one run of INSTR in `mode` ("load" or "check")."""
    env = {**tree_env(tree, cache), "PYTHONHASHSEED": "0"}
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", PY, "-c", INSTR, tree,
                        capture, mode], cwd=tree, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"callgrind run in {tree} failed: {p.stderr[-800:]}")
    for line in p.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no instruction count in callgrind's output: {p.stderr[-400:]}")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPU(s), "
            f"Python {platform.python_version()}; load average at start {load} (the machine is shared with "
            "other work: compare columns of one run, not runs)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the 'before' revision")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--copies", type=int, default=40, help="copies of the recorded session in the capture")
    ap.add_argument("--worktree", action="store_true", help="also run this checkout as it stands")
    ap.add_argument("--capture", help="use this capture instead of recording one")
    ap.add_argument("--keep", action="store_true", help="keep the generated capture (else it is removed)")
    ap.add_argument("--report", default=str(ROOT / "reports" / "bench-check.md"))
    ap.add_argument("--instr-copies", type=int, default=4, help="copies of the session for the instruction counts")
    ap.add_argument("--no-instructions", action="store_true", help="skip the callgrind instruction counts")
    args = ap.parse_args()
    if not args.no_instructions and not shutil.which("valgrind"):
        ap.error("valgrind is not installed (apt-get install valgrind), or pass --no-instructions")

    note = machine()
    trees = {"base": ("/tmp/bench-base", worktree(args.base, "/tmp/bench-base")),
             "head": ("/tmp/bench-head", worktree("HEAD", "/tmp/bench-head"))}
    if args.worktree:
        trees["worktree"] = (str(ROOT), "work tree")
    tmp = Path(tempfile.mkdtemp(prefix="bench-check-"))
    if args.capture:
        capture, session_n = Path(args.capture), None
    else:
        session = tmp / "session.mitm"
        session_n = record_session(session)
        capture = tmp / "capture.mitm"
        multiply(session, capture, args.copies)
    file_mb = capture.stat().st_size / 1e6
    print(f"capture {capture}: {file_mb:.1f} MB on disk", file=sys.stderr)

    cli: dict[str, list[float]] = {k: [] for k in trees}
    phases: dict[str, list[dict]] = {k: [] for k in trees}
    names = list(trees)
    # a first run on a machine: the compiled schema tests are not kept yet; it also fills each tree's
    # cache for the rounds
    first_cli = {name: run_cli(trees[name][0], str(capture)) for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # each tree goes first in turn
            tree = trees[name][0]
            cli[name].append(run_cli(tree, str(capture)))
            phases[name].append(run_phases(tree, str(capture)))
            print(f"round {r + 1}: {name} cli {cli[name][-1]:.2f} s, check {phases[name][-1]['check']:.2f} s",
                  file=sys.stderr)
    instr: dict[str, dict] = {}
    if not args.no_instructions:
        small = tmp / "small.mitm"
        if session_n is not None:
            multiply(session, small, args.instr_copies)
        else:  # a given capture is counted as it is
            small = capture
        for name in names:
            tree = trees[name][0]
            load = run_instructions(tree, str(small), "load")
            both = run_instructions(tree, str(small), "check")
            empty = Path(tempfile.mkdtemp(prefix="bench-check-empty-"))
            cold = run_instructions(tree, str(small), "check", cache=empty)
            shutil.rmtree(empty, ignore_errors=True)
            instr[name] = {"load": load, "check": both - load, "cold": cold - load}
            print(f"instructions: {name} checker {instr[name]['check'] / 1e6:.0f} M", file=sys.stderr)
    write_report(args, note, trees, capture, file_mb, session_n, cli, phases, instr, first_cli)
    shutil.rmtree(CACHE, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {capture}", file=sys.stderr)
    return 0


def write_report(args, note, trees, capture, file_mb, session_n, cli, phases, instr, first_cli) -> None:
    first = phases["base"][0]
    n, mb = first["exchanges"], first["bytes"] / 1e6
    med = {k: {"cli": statistics.median(cli[k]), "load": statistics.median(p["load"] for p in phases[k]),
               "check": statistics.median(p["check"] for p in phases[k])} for k in trees}
    best = {k: {"cli": min(cli[k]), "check": min(p["check"] for p in phases[k])} for k in trees}

    def ratio(k: str, what: str, of=med) -> str:
        return f"{of['base'][what] / of[k][what]:.2f}x" if k != "base" else "1.00x"

    lines = [
        "# `conformance check` throughput, before and after",
        "",
        "Generated by `bench/check.py` (" + " ".join(
            ["--base", args.base, "--rounds", str(args.rounds), "--copies", str(args.copies)]
            + (["--worktree"] if args.worktree else [])) + "). Not part of CI.",
        "",
        f"Machine: {note}.",
        "",
        f"Capture: {n} exchanges ({args.copies} copies of a {session_n}-exchange session recorded by the embedded "
        f"proxy with --record in front of the reference daemon), {mb:.1f} MB of payload fed to the checker, "
        f"{file_mb:.1f} MB on disk (mitmproxy flows)." if session_n else
        f"Capture: `{capture}`, {n} exchanges, {mb:.1f} MB of payload, {file_mb:.1f} MB on disk.",
        "",
        "Trees: " + "; ".join(f"**{k}** = {rev if rev == 'work tree' else rev[:10]} ({tree})"
                              for k, (tree, rev) in trees.items()) + ".",
        "",
        f"Medians of {args.rounds} rounds, trees interleaved within each round and each tree first in turn (the "
        "first run of a round was seen to be favoured); a speed ratio above 1 is faster than base.",
        "",
        "| tree | `check` CLI wall (s) | CLI exchanges/s | CLI MB/s | load (s) | checker (s) | checker exchanges/s "
        "| checker MB/s | findings | speed vs base (CLI / checker) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in trees:
        m = med[k]
        found = phases[k][0]["findings"]
        lines.append(f"| {k} | {m['cli']:.2f} | {n / m['cli']:.0f} | {mb / m['cli']:.1f} | {m['load']:.2f} | "
                     f"{m['check']:.2f} | {n / m['check']:.0f} | {mb / m['check']:.1f} | {found} | "
                     f"{ratio(k, 'cli')} / {ratio(k, 'check')} |")
    lines += [
        "",
        "Best round (the least disturbed by other work on the machine):",
        "",
        "| tree | CLI (s) | CLI exchanges/s | checker (s) | checker exchanges/s | checker MB/s "
        "| speed vs base (CLI / checker) |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in trees:
        b = best[k]
        lines.append(f"| {k} | {b['cli']:.2f} | {n / b['cli']:.0f} | {b['check']:.2f} | {n / b['check']:.0f} | "
                     f"{mb / b['check']:.1f} | {ratio(k, 'cli', best)} / {ratio(k, 'check', best)} |")
    if instr:
        counted = ("the capture above" if session_n is None else
                   f"{args.instr_copies} copies of the session, {args.instr_copies * session_n} exchanges")
        lines += [
            "",
            f"Instructions (callgrind, PYTHONHASHSEED=0; {counted}): "
            "independent of the machine's load; a ratio above 1 is fewer instructions than base.",
            "",
            "| tree | load (M instructions) | checker (M instructions) | checker vs base "
            "| checker, empty schema cache (M) | vs base |",
            "|---|---|---|---|---|---|",
        ]
        for k, v in instr.items():
            lines.append(f"| {k} | {v['load'] / 1e6:.0f} | {v['check'] / 1e6:.0f} | "
                         f"{instr['base']['check'] / v['check']:.2f}x | {v['cold'] / 1e6:.0f} | "
                         f"{instr['base']['cold'] / v['cold']:.2f}x |")
    lines += [
        "",
        f"Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "First run of each tree, its schema cache empty (CLI, s; one run each, so noisy): " + ", ".join(
            f"{k} {first_cli[k]:.2f}" for k in trees) + ". The rounds and the first instruction column run "
        "with the cache that run filled, as every later run on a machine does.",
        "",
        "All rounds (s): " + "; ".join(
            f"{k}: CLI " + ", ".join(f"{x:.2f}" for x in cli[k]) + " / checker "
            + ", ".join(f"{p['check']:.2f}" for p in phases[k]) for k in trees),
        "",
        "*CLI* is the whole command in a fresh interpreter (start-up, reading the flow file, checking, "
        "printing JSON lines); *load* and *checker* split the same work in-process: `load_capture` and "
        "`check_exchanges`. *findings*: how many the checker raised on the capture (a change there is a "
        "grading change, not a speed one).",
        "",
    ]
    Path(args.report).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
