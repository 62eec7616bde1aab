"""The simulator under generated scripts: every run ends or stalls within bounds, never with a Python error.

Scripts are built from the simulator's own command table (BUILTINS) with arguments of the kinds that
broke it before: huge and odd numbers, `nan`, suffixes, options, redirections, pipes.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.daemon.fs import ContainerFs, Node
from conformance.daemon.simulator import BUILTINS, WORK_BUDGET, Budget, EmitWriter, NullReader, Shell, Stdio

OUTPUT_CAP = 1 << 20
COMMANDS = sorted(set(BUILTINS) - {"sh", "bash", "ash"})
words = st.one_of(
    st.sampled_from(["nan", "inf", "-1", "0", "1", "2.5", "1e3", "0x10", "99999999999999999999", "9" * 5000,
                     "0" * 5000 + "1", "1.5.5", "1k", "2m", "-n", "-c", "-w", "-s", ",", "--", "/tmp/f", "/", "*"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="'\\"), max_size=8))


@st.composite
def scripts(draw) -> str:
    def command() -> str:
        name = draw(st.sampled_from(COMMANDS))
        args = draw(st.lists(words, max_size=4))
        out = " ".join([name, *(f"'{a}'" for a in args)])
        return out + draw(st.sampled_from(["", "", " > /tmp/f", " >> /tmp/f", " < /tmp/f", " 2>&1"]))
    pipelines = [" | ".join(command() for _ in range(draw(st.integers(1, 3)))) for _ in range(draw(st.integers(1, 3)))]
    return draw(st.sampled_from(["; ", " && ", " || "])).join(pipelines)


class CappedOutput:
    """A container's output: past the cap a write waits forever, as in Container._emit."""

    def __init__(self) -> None:
        self.size = 0

    async def emit(self, data: bytes) -> None:
        if self.size > OUTPUT_CAP:
            await asyncio.Event().wait()
        self.size += len(data)


async def run_script(script: str) -> tuple[int | None, int]:
    fs = ContainerFs({"/tmp": Node("dir", mode=0o1777)})
    budget = Budget(WORK_BUDGET // 8)
    out = CappedOutput()
    io = Stdio(NullReader(), EmitWriter(out.emit, budget), EmitWriter(out.emit, budget))
    task = asyncio.ensure_future(Shell(fs, {"PATH": "/bin"}, budget=budget).run_argv(["sh", "-c", script], io))
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        task.cancel()  # sleeping, or stalled at the cap or the budget: what a signal ends
        return None, out.size
    return task.result(), out.size  # a Python error in the simulator raises here


@settings(deadline=None, max_examples=120, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts())
def test_generated_scripts_end_or_stall_within_bounds(script):
    status, written = asyncio.run(run_script(script))
    assert status is None or 0 <= status <= 255, (script, status)
    assert status != 255, f"the simulator failed on {script!r}"  # Container._done's code for an exception
    assert written <= OUTPUT_CAP + 64 * 1024


def test_the_oracle_sees_a_simulator_error(monkeypatch):
    async def broken(sh, argv, io):
        raise KeyError("boom")
    monkeypatch.setitem(BUILTINS, "true", broken)
    try:
        asyncio.run(run_script("true"))
    except KeyError:
        return
    raise AssertionError("an exception inside a command did not reach the test")
