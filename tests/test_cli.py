"""CLI conventions: --version, one exit-status scheme stated in every --help, the same flag names for the
same things, shell completion, a missing daemon as one line and exit 2, report directories that never
overwrite another target's, and a progress bar that does not garble pytest's output."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import __version__
from conformance.cli import _subparsers, build_parser, main
from conformance.suite.command import report_directory


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = _subparsers(parser)
    if not subs:
        return [(path, parser)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, (*path, name))]


LEAVES = _leaves(build_parser())


def _har(path: Path, target: str, content_type: str, text: str) -> Path:
    entry = {"startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
             "request": {"method": "GET", "url": f"http://docker{target}", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Host", "value": "docker"}], "queryString": [], "cookies": [],
                         "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                          "headers": [{"name": "Content-Type", "value": content_type},
                                      {"name": "Content-Length", "value": str(len(text))}],
                          "cookies": [], "content": {"size": len(text), "mimeType": content_type, "text": text},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(text)},
             "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": [entry]}}))
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_ADDOPTS")}


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"conformance {__version__} ")


def test_every_command_states_the_exit_statuses():
    assert len(LEAVES) >= 10
    for path, parser in LEAVES:
        text = " ".join(parser.format_help().split())
        assert "exit status: 0" in text and "2 usage error" in text, f"conformance {' '.join(path)} --help:\n{text}"


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=" ".join)
def test_usage_error_is_exit_2(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--no-such-flag"])
    assert exc.value.code == 2


def test_unusable_input_is_exit_2_for_every_kind_of_command(tmp_path: Path, capsys):
    missing = str(tmp_path / "absent.har")
    assert main(["serve", "--listen", "bogus://x"]) == 2
    assert main(["serve", "--listen", f"unix://{tmp_path}/no/such/dir/d.sock"]) == 2
    assert main(["replay", "serve", missing, "--listen", f"unix://{tmp_path}/r.sock"]) == 2
    assert main(["check", missing]) == 2
    assert main(["export", missing, "--har", str(tmp_path / "out.har")]) == 2
    assert main(["report", "compare", str(tmp_path / "nothing-here")]) == 2
    assert main(["proxy", "--listen", "ftp://x", "--daemon", "unix:///x.sock"]) == 2
    assert main(["suite", "--daemon", "ftp://x"]) == 2


def test_findings_are_exit_1_and_clean_is_0(tmp_path: Path, capsys):
    clean = _har(tmp_path / "clean.har", "/v1.14/_ping", "text/plain; charset=utf-8", "OK")
    bad = _har(tmp_path / "bad.har", "/v1.14/containers/json", "application/json", "not json")
    assert main(["check", str(clean)]) == 0
    assert main(["check", str(bad)]) == 1
    assert main(["rules"]) == 0


def test_the_same_flags_for_the_same_things():
    """--daemon names the target and --report a report directory in every command that has one;
    the older spellings still parse but are not shown."""
    parser = build_parser()
    for path, sub in LEAVES:
        flags = {s for a in sub._actions for s in a.option_strings}
        shown = sub.format_help()
        assert "--upstream" not in shown and "--output" not in shown and "--report-dir" not in shown, path
        if path in (("suite",), ("replay", "send"), ("proxy",)):
            assert "--daemon" in flags, path
        if path in (("suite",), ("replay", "send"), ("report", "compare")):
            assert "--report" in flags, path
    assert parser.parse_args(["proxy", "--listen", "unix:///a", "--upstream", "unix:///b"]).upstream == "unix:///b"
    assert parser.parse_args(["proxy", "--listen", "unix:///a", "--daemon", "unix:///b"]).upstream == "unix:///b"
    assert parser.parse_args(["report", "compare", "d", "--output", "o"]).output == "o"
    assert parser.parse_args(["report", "compare", "d", "--report", "o"]).output == "o"


@pytest.mark.parametrize("shell", ["bash", "zsh", "tcsh"])
def test_shell_completion(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "conformance" in script and "suite" in script and "replay" in script
    if shell == "bash":
        proc = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("command", [["suite"], ["replay", "send", "CAPTURE"]])
def test_no_daemon_is_one_line_and_exit_2_within_5_s(command, tmp_path: Path):
    capture = _har(tmp_path / "c.har", "/v1.14/_ping", "text/plain; charset=utf-8", "OK")
    argv = [str(capture) if a == "CAPTURE" else a for a in command]
    sock = tmp_path / "absent.sock"
    # the bound is 5 s on a machine where starting the command takes its usual ~1 s; a loaded machine
    # (CI beside other jobs) gets what its own slower start costs on top
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "conformance", "--version"], capture_output=True, timeout=60, env=_env())
    budget = 5 + max(0.0, time.monotonic() - t0 - 1.0)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "conformance", *argv, "--daemon", f"unix://{sock}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=_env())
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"conformance {' '.join(command[:2] if command[0] == 'replay' else command[:1])}: "
        f"cannot connect to the daemon at unix://{sock}: no such file or directory"]
    assert proc.stdout == ""
    assert elapsed < budget, (elapsed, budget)
    assert not (tmp_path / "reports").exists()


def test_report_directories_never_overwrite_another_targets(tmp_path: Path):
    def write(directory: Path, name: str, url: str) -> None:
        directory.mkdir(parents=True)
        (directory / "report.json").write_text(json.dumps({"target": {"name": name, "url": url}}))

    root = tmp_path / "reports"
    assert report_directory(None, "dockerd", "unix:///a.sock", root) == root / "dockerd"
    write(root / "dockerd", "dockerd", "unix:///a.sock")
    assert report_directory(None, "dockerd", "unix:///a.sock", root) == root / "dockerd"  # the same daemon again
    assert report_directory(None, "dockerd", "unix:///b.sock", root) == root / "dockerd-2"
    write(root / "dockerd-2", "dockerd", "unix:///b.sock")
    assert report_directory(None, "dockerd", "unix:///c.sock", root) == root / "dockerd-3"
    write(root / "reference", "reference", "unix:///tmp/x/docker.sock")
    assert report_directory(None, "reference", None, root) == root / "reference"  # a new socket every run
    with pytest.raises(ValueError, match="holds the report of another target"):
        report_directory(str(root / "dockerd"), "podman", "unix:///p.sock", root)
    assert report_directory(str(root / "dockerd"), "dockerd", "unix:///a.sock", root) == root / "dockerd"


def _run_on_a_terminal(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run with stdout and stderr on one pseudo-terminal, as a person at a shell would; (status, output)."""
    master, slave = pty.openpty()
    env = {**_env(), "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def _screen_lines(output: str) -> list[str]:
    """The text between carriage returns and newlines, escape sequences removed."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    return [seg for seg in re.split(r"[\r\n]", plain) if seg.strip()]


def test_progress_bar_and_pytest_output_do_not_garble_each_other(tmp_path: Path):
    code, output = _run_on_a_terminal([sys.executable, "-m", "conformance", "suite", "--", "-k",
                                       "system.version or system.ping"], tmp_path)
    lines = _screen_lines(output)
    assert code == 0, "\n".join(lines[-40:])
    bars = [ln for ln in lines if ln.startswith("v1.14 suite")]
    assert bars, "no progress bar drawn on the terminal"
    assert all("passed" not in ln and "[100%]" not in ln and "conformance ===" not in ln for ln in bars), bars
    dots = [ln for ln in lines if ln.rstrip().endswith("[100%]")]
    assert len(dots) == 1 and re.fullmatch(r"\.+ +\[100%\]", dots[0].strip()), dots
    assert any(re.fullmatch(r"tests: \d+ passed, 0 failed, 0 errors, 0 skipped \(100\.0%\); exchanges judged: \d+",
                            ln) for ln in lines), lines[-12:]
    assert "PytestAssertRewriteWarning" not in output


def test_replay_send_shows_progress_on_a_terminal_only(tmp_path: Path):
    from conformance.daemon import DaemonThread

    capture = Path(__file__).resolve().parent.parent / "reports" / "examples" / "replay" / "session.mitm"
    daemon = DaemonThread(seed_busybox=True)
    url = daemon.start()
    try:
        argv = [sys.executable, "-m", "conformance", "replay", "send", str(capture), "--daemon", url,
                "--fail-on", "never"]
        code, output = _run_on_a_terminal(argv, tmp_path)
        lines = _screen_lines(output)
        assert code == 0, "\n".join(lines[-30:])
        bars = [ln for ln in lines if ln.startswith("replay send ")]
        assert bars and any(re.search(r"\b\d+/\d+\b", ln) for ln in bars), lines[:10]
        piped = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path)
        assert piped.returncode == 0, piped.stderr[-2000:]
        assert "replay send ━" not in piped.stderr and "\x1b[" not in piped.stderr
    finally:
        daemon.stop()
