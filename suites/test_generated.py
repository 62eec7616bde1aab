"""Every route with generated values: valid ones (canonical and 1.2.0-lenient) must be served, each
refused value must get 1.2.0's exact status and body form for its cause (rule book `outcomes`), on a
container drawn in any state, under any version prefix older or newer than 1.14."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.spec import RULEBOOK

from .expect import expect_outcome, expect_same_as_reference, expect_success
from .generated import Subjects, build, created_by, focus_cases, generated_requests, mentions, names_a_container, send
from .strategies import Refs

_READS_OUTPUT = {ep.id for ep in RULEBOOK if any(r.kind.value == "stdio" for r in ep.responses)}
_ROUTES = [pytest.param(ep, marks=pytest.mark.endpoints(ep.id), id=ep.id) for ep in RULEBOOK]


@pytest.fixture(scope="session")
def saved_image(api, image) -> bytes:
    """The test image as images/get writes it: the body every load example sends."""
    r = api.get(f"/images/{image}/get")
    assert r.status == 200, f"setup: get {image}: {r.status}"
    return SavedImage(r.content)


class SavedImage(bytes):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<image tar, {len(self)} bytes>"


_KEYS = [pytest.param(ep, key, cause, marks=pytest.mark.endpoints(ep.id),
                      id=f"{ep.id}:{key}:{cause.value if cause else 'valid'}")
         for ep in RULEBOOK for key, cause in focus_cases(ep)]


@pytest.mark.parametrize("endpoint", _ROUTES)
@settings(max_examples=max(1, settings.default.max_examples // 2))
@given(data=st.data())
def test_generated_request(api, image, names, saved_image, endpoint, data):
    """Any combination of a route's parameters and fields."""
    run_example(api, image, names, saved_image, endpoint, data, None)


@pytest.mark.parametrize("endpoint,key,cause", _KEYS)
@settings(max_examples=max(1, settings.default.max_examples // 6))
@given(data=st.data())
def test_each_parameter_and_field(api, image, names, saved_image, endpoint, key, cause, data):
    """Every parameter and body field of the rule book: a valid value, and a value for each cause it can meet."""
    run_example(api, image, names, saved_image, endpoint, data, key, cause)


def run_example(api, image, names, saved_image, endpoint, data, focus=None, cause=None) -> None:
    subjects = Subjects(api, image, names, wait_for_output=endpoint.id in _READS_OUTPUT)
    api.example = names("ex")
    try:
        peer = names("gp") if names_a_container(endpoint) else None
        refs = Refs(names.prefix, container=peer, image=image)
        req = data.draw(generated_requests(endpoint, refs, focus, cause), label="request")
        if peer is not None and mentions(req, peer):
            subjects.container("running", name=peer)
        subject = subjects.container(req.state)[0] if req.state else None
        built = build(req, subjects, subject, refs, saved_image)
        reply = send(api, req, built)
        if reply is None:  # notes §3.5: logs (and events) send no head until there is something to write
            assert req.expected(built.params) is None, f"{req.describe()}: no answer within the read timeout"
            return
        made_containers, made_images = created_by(req, built, reply)
        subjects.containers += made_containers
        subjects.images += made_images
        outcome = req.expected(built.params)
        if outcome is None:
            expect_success(api, endpoint, reply, req.describe(), subjects.steps())
        else:
            expect_outcome(api, endpoint, reply, outcome, req.describe(), subjects.steps())
        expect_same_as_reference(api, reply, req.describe(), subjects.steps())
    finally:
        api.example = ""
        subjects.close()
