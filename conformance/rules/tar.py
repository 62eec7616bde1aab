"""Tar bodies (notes §3.7); scanned by conformance/streams/tar.py."""

from __future__ import annotations

from ..spec.model import BodyKind, Severity
from .registry import Applies, Side, declare

ERR, WARN = Severity.ERROR, Severity.WARNING
rule = declare("tar", Side.DAEMON)
OK_TAR = Applies(statuses="success", kinds=frozenset({BodyKind.TAR}))

rule("v114.tar.invalid", ERR,
     "Tar response bodies (export, copy, images get) are readable tar archives.",
     "notes §3.7", applies=OK_TAR)
rule("v114.tar.image-layout", ERR,
     "images/{name}/get holds `repositories` and, per layer, `<id>/VERSION`, `<id>/json`, `<id>/layer.tar`.",
     "doc Image tarball format", applies=Applies(statuses="success", endpoints=frozenset({"images.get"})))
rule("v114.tar.copy-resource", WARN,
     "A copy tar holds the requested resource's base name.",
     "doc Copy", applies=Applies(statuses="success", endpoints=frozenset({"containers.copy"})))
