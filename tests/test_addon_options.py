"""The mitmproxy addon is configured only through its options, checked in `configure` (mitmproxy's way)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mitmproxy.exceptions import OptionsError
from mitmproxy.test import taddons

ADDON = Path(__file__).resolve().parent.parent / "proxy_addons" / "docker_conformance.py"


def _addon():
    spec = importlib.util.spec_from_file_location("docker_conformance_under_test", ADDON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as `mitmdump -s` loads it: a file, not a package import
    (addon,) = module.addons
    return addon


def test_state_is_made_in_init_and_the_session_in_configure(tmp_path):
    addon = _addon()
    assert addon.session is None and addon.recorder is None
    with taddons.context(addon) as tctx:
        tctx.configure(addon, conformance_log=str(tmp_path / "x.jsonl"), conformance_console=False,
                       conformance_ignore=["v114.json.*"])
        assert addon.session is not None and addon.session.checker.ignored("v114.json.schema")
        first = addon.session
        tctx.configure(addon, conformance_record=str(tmp_path / "r.mitm"))  # one of ours: a new session
        assert addon.session is not first and addon.recorder is not None
        addon.done()
    assert addon.session is None


@pytest.mark.parametrize("option, value, words", [
    ("conformance_ignore", ["v114.no-such-rule"], "matches no rule"),
    ("conformance_log", "/no/such/dir/x.jsonl", "does not exist"),
    ("conformance_record", "/no/such/dir/x.mitm", "does not exist"),
])
def test_bad_options_are_refused_and_rolled_back(tmp_path, option, value, words):
    addon = _addon()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, conformance_console=False)
        with pytest.raises(OptionsError, match=words):
            tctx.configure(addon, **{option: value})
        # mitmproxy puts the old value back and configures again with it: a working session, no file
        assert getattr(tctx.options, option) != value and addon.session is not None
        addon.done()
