"""Boundaries of the house, as tests (STYLE.md): read from the source files' import statements (ast).

- the reference daemon never imports the checker (`conformance.checker`, `.streams`, `.frames`,
  `.rules`), not even through another module of the package;
- nothing under conformance/ imports the test packages (`suites`, installed as `conformance.suites`,
  or `tests`): `conformance suite` finds the suite's directory by `importlib.util.find_spec`, a path,
  not an import;
- proxy_addons/ uses conformance; conformance/proxy/ (and the rest of conformance/) never imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ("conformance.checker", "conformance.streams", "conformance.frames", "conformance.rules")
TEST_PACKAGES = ("suites", "tests", "conformance.suites")
ADDONS = ("proxy_addons", "conformance.proxy_addons")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _statements(tree: ast.AST, loaded_only: bool):
    """The nodes of a module; with `loaded_only`, not those inside functions or `if TYPE_CHECKING:`
    (what importing the module runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if loaded_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if loaded_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)


@cache
def imports_of(path: Path, loaded_only: bool = False) -> frozenset[str]:
    """Every module `path` imports, as absolute names (`from a import b` counts as `a` and `a.b`): at any
    depth of the file, functions included, or with `loaded_only` only what importing it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if _is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(tree, loaded_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return frozenset(found)


def _file_of(module: str) -> Path | None:
    """The source file of one of our modules (None: not ours, or a name inside a module)."""
    rel = Path(*module.split("."))
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _sources(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no source files under {folder}/: the boundary would hold vacuously"
    return files


def reachable(start: list[Path]) -> dict[str, str]:
    """Modules of ours reachable by imports from `start`: module -> the module that imported it first.
    Every import in `start` counts; in the modules they reach, those that loading them runs (a lazy
    import inside another module's function is that function's business, and runs only if called)."""
    seen: dict[str, str] = {}
    todo = [(p, False) for p in start]
    while todo:
        path, loaded_only = todo.pop()
        for module in imports_of(path, loaded_only):
            if not _under(module, ("conformance", "suites", "proxy_addons", "tests")) or module in seen:
                continue
            seen[module] = _module_name(path)
            target = _file_of(module)
            if target is not None:
                todo.append((target, True))
    return seen


def _chain(seen: dict[str, str], module: str) -> str:
    path = [module]
    while path[-1] in seen and seen[path[-1]] not in path and len(path) < 20:
        path.append(seen[path[-1]])
    return " <- ".join(path)


def test_the_import_reader_sees_imports():
    """The reader the tests below rely on finds relative, absolute and in-function imports."""
    found = imports_of(ROOT / "conformance" / "replay" / "send.py")
    assert "conformance.capture" in found and "conformance.capture.RecordedExchange" in found
    assert "h11" in found
    plugin = imports_of(ROOT / "suites" / "plugin.py")
    assert any(m.startswith("conformance.") for m in plugin)


def test_the_daemon_never_imports_the_checker():
    seen = reachable(_sources("conformance/daemon"))
    assert any(m.startswith("conformance.spec") for m in seen), "the daemon reads the rule book: not found"
    bad = sorted(m for m in seen if _under(m, CHECKER))
    assert not bad, "the daemon reaches the checker: " + "; ".join(_chain(seen, m) for m in bad)


def test_loading_the_daemon_loads_no_checker_module():
    """The same boundary at run time: a fresh interpreter imports every daemon module and serves one
    request; no checker module is loaded."""
    modules = [_module_name(p) for p in _sources("conformance/daemon")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from conformance.daemon import DaemonThread\n"
        "import httpx\n"
        "from conformance.daemonurl import parse_daemon_url\n"
        "t = DaemonThread(); url = parse_daemon_url(t.start())\n"
        "try:\n"
        "    with httpx.Client(transport=httpx.HTTPTransport(uds=url.path), base_url=url.http_base) as c:\n"
        "        assert c.get('/v1.14/version').status_code == 200\n"
        "finally:\n"
        "    t.stop()\n"
        f"print(sorted(m for m in sys.modules if m.startswith({CHECKER!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_nothing_under_conformance_imports_the_test_packages():
    bad = sorted((_module_name(path), m) for path in _sources("conformance") for m in imports_of(path)
                 if _under(m, TEST_PACKAGES))
    assert not bad, bad


def test_the_addon_uses_conformance_and_conformance_never_imports_the_addon():
    addon = {m for path in _sources("proxy_addons") for m in imports_of(path)}
    assert any(_under(m, ("conformance.proxy",)) for m in addon), "the addon drives conformance.proxy"
    bad = sorted((_module_name(path), m) for path in _sources("conformance") for m in imports_of(path)
                 if _under(m, ADDONS))
    assert not bad, bad
