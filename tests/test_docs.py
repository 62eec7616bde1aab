"""The generated rule table in docs/RULES.md matches the rule book."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_rules_md_is_current():
    out = subprocess.run([sys.executable, "-m", "conformance", "rules", "--markdown", "--endpoints"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    current = (ROOT / "docs" / "RULES.md").read_text()
    header, _, table = current.partition("\n\n")
    assert table == out, "docs/RULES.md is stale: regenerate with scripts/gen-docs.sh"
