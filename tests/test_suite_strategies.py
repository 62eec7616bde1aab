"""Every query parameter and body field of the rule book gets generated values, derived from its data alone;
the values mean what the rule book says 1.2.0 makes of them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.spec import RULEBOOK, BodyField, Cause, FieldType, Outcome, Param, ParamKind, RequestBody
from conformance.streams.values import NAME_RE, filters_are_valid, int_is_valid, parse_bool, signal_is_valid
from suites.strategies import Refs, all_spaces, endpoint_spaces, expected_outcome

REFS = Refs("v114s-t", container="v114s-t-c1", image="v114s-t-busybox:latest")
SPACES = all_spaces(REFS)
EVERY_KEY = [(ep.id, f"?{p.name}") for ep in RULEBOOK for p in ep.params] + \
            [(ep.id, f.name) for ep in RULEBOOK for f in ep.body.fields]


def test_every_parameter_and_field_has_a_space():
    assert len(EVERY_KEY) > 150
    assert set(EVERY_KEY) == set(SPACES)


def test_the_request_bodies_the_issue_names_are_all_generated():
    fields = {ep: {k for (e, k) in SPACES if e == ep and not k.startswith("?")} for ep in
              ("containers.create", "containers.start", "system.commit", "system.auth", "images.push",
               "containers.copy")}
    assert {"Binds", "PortBindings", "Links", "VolumesFrom", "RestartPolicy", "Devices", "LxcConf"} <= \
        fields["containers.start"]
    assert len(fields["containers.create"]) == len(RULEBOOK["containers.create"].body.fields)
    assert fields["containers.copy"] == {"Resource"}
    assert {"username", "password", "email", "serveraddress"} <= fields["system.auth"] == fields["images.push"]


@pytest.mark.parametrize("key", sorted(SPACES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_each_space_draws_and_every_invalid_cause_has_an_answer(key):
    ep, name = RULEBOOK[key[0]], key[1]
    space = SPACES[key]

    @settings(max_examples=15, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(space.any())
    def draws(value):
        if value.cause is None:
            assert expected_outcome(ep, name, value) is None
        elif value.form == "invalid" or value.form == "absent":
            outcome = expected_outcome(ep, name, value)
            assert outcome is not None and outcome.cause is value.cause, (key, value)

    draws()


def _param(endpoint_id: str, name: str) -> Param:
    p = RULEBOOK[endpoint_id].param(name)
    assert p is not None
    return p


def _values(endpoint_id: str, key: str, valid: bool):
    space = SPACES[(endpoint_id, key)]
    return space.valid if valid else space.invalid


@settings(max_examples=60, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_query_values_mean_what_their_kind_says(data):
    for ep in RULEBOOK:
        for p in ep.params:
            if not p.read:
                continue
            v = data.draw(_values(ep.id, f"?{p.name}", True))
            if p.kind is ParamKind.BOOL:
                assert isinstance(v.value, str) and parse_bool(v.value) in (True, False)
            elif p.kind in (ParamKind.INT, ParamKind.STRICT_INT, ParamKind.TAIL) and v.form == "canonical":
                if v.value != "all":
                    assert int_is_valid(v.value)
                    assert p.minimum is None or int(v.value) >= p.minimum
                    assert p.maximum is None or int(v.value) <= p.maximum
            elif p.kind is ParamKind.NAME:
                assert NAME_RE.fullmatch(v.value)
            elif p.kind is ParamKind.SIGNAL:
                assert signal_is_valid(v.value)
            elif p.kind is ParamKind.FILTERS:
                assert filters_are_valid(json.loads(v.value))


@settings(max_examples=60, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_invalid_query_values_are_refused_by_their_kind(data):
    for key in (("containers.kill", "?signal"), ("containers.resize", "?h"), ("containers.list", "?filters"),
                ("containers.create", "?name")):
        v = data.draw(_values(*key, False))
        if v.form == "absent" or v.cause is Cause.NAME_CONFLICT:
            continue
        if key[1] == "?signal":
            assert not signal_is_valid(v.value)
        elif key[1] == "?h":
            assert not int_is_valid(v.value)
        elif key[1] == "?name":
            assert not NAME_RE.fullmatch(v.value)
        else:
            try:
                parsed = json.loads(v.value)
            except ValueError:
                continue
            exited = parsed.get("exited", []) if isinstance(parsed, dict) else []
            assert not filters_are_valid(parsed) or any(not str(x).lstrip("-").isdigit() for x in exited)


@settings(max_examples=40, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_body_values_follow_the_field_data(data):
    start = {f.name: f for f in RULEBOOK["containers.start"].body.fields}
    binds = data.draw(_values("containers.start", "Binds", True)).value
    assert isinstance(binds, (list, str))
    for b in [binds] if isinstance(binds, str) else binds:
        assert b.startswith("/tmp/v114s-bind-")  # never a host path outside the suite's own
    pb = data.draw(_values("containers.start", "PortBindings", True))
    if pb.form == "canonical":
        for port, bindings in pb.value.items():
            assert port.split("/")[1] in ("tcp", "udp") and isinstance(bindings, list)
    rp = data.draw(_values("containers.start", "RestartPolicy", True))
    if rp.form == "canonical":
        assert set(rp.value) <= {m.name for m in start["RestartPolicy"].members}
        assert rp.value.get("Name", "") in ("", "always", "on-failure")
    mem = data.draw(_values("containers.create", "Memory", True))
    assert not 0 < int(mem.value) < 524288
    bad_mem = data.draw(_values("containers.create", "Memory", False))
    assert 0 < bad_mem.value < 524288 and bad_mem.cause is Cause.BAD_PARAMETER
    links = data.draw(_values("containers.start", "Links", True))
    if links.form == "canonical":
        assert all(link.startswith(REFS.container + ":") for link in links.value)


def test_a_parameter_added_to_the_rule_book_is_generated_without_more_code():
    ep = RULEBOOK["containers.kill"]
    grown = replace(ep, params=ep.params + (Param("newsig", ParamKind.SIGNAL),),
                    body=RequestBody(fields=(BodyField("Extra", FieldType.INT, minimum=3, maximum=4),)))
    spaces = endpoint_spaces(grown, REFS)
    assert {"?newsig", "Extra"} <= set(spaces)
    assert spaces["?newsig"].causes == set()  # no answer to a bad newsig in the rule book: none are drawn
    answered = replace(grown, outcomes=grown.outcomes + (Outcome(Cause.BAD_PARAMETER, 500, r"Invalid signal: .+",
                                                                  when="newsig"),))
    assert endpoint_spaces(answered, REFS)["?newsig"].causes == {Cause.BAD_PARAMETER}
    assert spaces["Extra"].valid.example().value in (3, 4, "3", "4")


def test_registry_names_stay_on_loopback():
    for key in (("images.create", "?fromImage"), ("images.search", "?term"), ("system.auth", "serveraddress")):
        v = SPACES[key].valid.example()
        assert "127.0.0.1:" in v.value and v.cause is Cause.NO_REGISTRY


def test_every_route_has_an_answer_to_some_cause():
    """A negative test on every route can be derived: each route says how 1.2.0 refuses something."""
    for ep in RULEBOOK:
        assert ep.outcomes, ep.id
        assert ep.outcome(Cause.TOO_NEW_VERSION) is not None, ep.id
