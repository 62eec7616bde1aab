"""Image endpoints: list, inspect, history, tag, delete, get -> load round trip, import, build, commit."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.busybox import busybox_rootfs
from conformance.frames import demux
from conformance.spec import RULEBOOK

from .strategies import build_contexts


def _repo_tags(api) -> set[str]:
    r = api.get("/images/json")
    assert r.status == 200
    return {t for img in r.json() for t in (img.get("RepoTags") or [])}


def _messages(content: bytes) -> list[dict]:
    decoder, text, pos, out = json.JSONDecoder(), content.decode("utf-8", "replace"), 0, []
    while True:
        while pos < len(text) and text[pos] in " \r\n\t":
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


@pytest.mark.endpoints("images.list")
def test_list_holds_test_image(api, image):
    assert image in _repo_tags(api)


@pytest.mark.endpoints("images.inspect", "images.history")
def test_inspect_and_history(api, image):
    r = api.get(f"/images/{image}/json")
    assert r.status == 200
    info = r.json()
    r = api.get(f"/images/{image}/history")
    assert r.status == 200
    assert r.json()[0]["Id"] == info["Id"]


@pytest.mark.endpoints("images.inspect")
def test_inspect_unknown_image(api, names):
    assert api.get(f"/images/{names.prefix}-none:latest/json").status == 404


@pytest.mark.endpoints("images.tag", "images.delete")
def test_tag_and_untag(api, image, names):
    repo = names("tag")
    r = api.post(f"/images/{image}/tag", {"repo": repo, "tag": "v1"})
    assert r.status == 201
    assert f"{repo}:v1" in _repo_tags(api)
    r = api.post(f"/images/{image}/tag", {"repo": repo, "tag": "v1"})
    assert r.status == 201, "re-tagging overwrites in v1.14 (the conflict check was dead code)"
    r = api.delete(f"/images/{repo}:v1")
    assert r.status == 200
    assert any("Untagged" in m for m in r.json())
    assert f"{repo}:v1" not in _repo_tags(api)


@pytest.mark.endpoints("images.delete")
def test_delete_unknown_image(api, names):
    assert api.delete(f"/images/{names.prefix}-none:latest").status == 404


@pytest.mark.endpoints("images.delete")
def test_delete_image_used_by_container(api, image, containers, names):
    repo = names("used")
    assert api.post(f"/images/{image}/tag", {"repo": repo}).status == 201
    containers.create(["true"], name=None, Image=f"{repo}:latest")
    r = api.delete(f"/images/{repo}:latest")
    assert r.status in (200, 409)  # untag is allowed while another tag still names the image


@pytest.mark.endpoints("images.create")
def test_import_rootfs(api, names):
    repo = names("imp")
    r = api.post("/images/create", {"fromSrc": "-", "repo": repo, "tag": "t1"}, body=busybox_rootfs(),
                 headers={"Content-Type": "application/tar"})
    assert r.status == 200
    msgs = _messages(r.content)
    assert msgs and not any("error" in m for m in msgs)
    assert f"{repo}:t1" in _repo_tags(api)


@pytest.mark.endpoints("images.get", "images.load")
def test_get_load_round_trip(api, image, names):
    repo = names("rt")
    assert api.post(f"/images/{image}/tag", {"repo": repo, "tag": "latest"}).status == 201
    image_id = api.get(f"/images/{repo}:latest/json").json()["Id"]
    r = api.get(f"/images/{repo}/get")
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        names_in = tar.getnames()
    assert "repositories" in names_in
    assert api.delete(f"/images/{repo}:latest").status == 200
    assert f"{repo}:latest" not in _repo_tags(api)
    r = api.post("/images/load", body=r.content, headers={"Content-Type": "application/x-tar"})
    assert r.status == 200
    assert f"{repo}:latest" in _repo_tags(api)
    assert api.get(f"/images/{repo}:latest/json").json()["Id"] == image_id


@pytest.mark.endpoints("system.build")
@given(data=st.data())
def test_build_generated_context(api, image, containers, names, data):
    tar, fname, content = data.draw(build_contexts(image))
    tag = names("build")
    r = api.post("/build", {"t": tag, "rm": 1}, body=tar, headers={"Content-Type": "application/tar"},
                 timeout=120)
    assert r.status == 200
    msgs = _messages(r.content)
    assert not any("error" in m for m in msgs), msgs[-3:]
    assert any("Successfully built" in m.get("stream", "") for m in msgs)
    cid = containers.create(["true"], Image=tag)  # read the file back by copy: logs need not be 8-bit clean
    r = api.post(f"/containers/{cid}/copy", json_body={"Resource": f"/{fname}"})
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        assert tar.extractfile(fname).read() == content


@pytest.mark.endpoints("system.build")
def test_build_without_dockerfile_fails(api, names):
    from .strategies import tar_of

    r = api.post("/build", {"t": names("nodf")}, body=tar_of({"x.txt": b"x"}),
                 headers={"Content-Type": "application/tar"})
    assert r.status >= 400 or any("error" in m for m in _messages(r.content))


@pytest.mark.endpoints("system.commit")
def test_commit_then_inspect(api, containers, names):
    cid = containers.run_to_end(["sh", "-c", "echo committed > /committed.txt"])
    repo = names("commit")
    r = api.post("/commit", {"container": cid, "repo": repo, "tag": "c1", "comment": "suite commit",
                             "author": "suite <suite@example.invalid>"},
                 json_body={"Cmd": ["cat", "/committed.txt"]})
    assert r.status == 201
    new_id = r.json()["Id"]
    info = api.get(f"/images/{repo}:c1/json").json()
    assert info["Id"] == new_id
    assert info["Comment"] == "suite commit" and info["Author"].startswith("suite")
    assert info["Config"]["Cmd"] == ["cat", "/committed.txt"]
    out_cid = containers.run_to_end(["cat", "/committed.txt"], Image=f"{repo}:c1")
    out, _ = demux(api.get(f"/containers/{out_cid}/logs", {"stdout": 1}).content)
    assert out == b"committed\n"


@pytest.mark.endpoints("system.commit")
def test_commit_unknown_container(api, names):
    r = api.post("/commit", {"container": f"{names.prefix}-nope", "repo": names("x")}, json_body={})
    assert r.status == 404


@pytest.mark.endpoints("system.build")
def test_build_error_is_in_band(api, image, names):
    """A failing step is reported inside the 200 stream, as an error message with errorDetail."""
    from .strategies import tar_of

    context = tar_of({"Dockerfile": f"FROM {image}\nADD no-such-file.txt /x\n".encode()})
    r = api.post("/build", {"t": names("bad")}, body=context, headers={"Content-Type": "application/tar"})
    assert r.status == 200
    errors = [m for m in _messages(r.content) if "error" in m]
    assert errors, "no in-band error"
    assert errors[-1].get("errorDetail", {}).get("message")


@pytest.mark.endpoints("system.build")
def test_build_skips_an_unknown_instruction(api, image, names):
    """1.2.0 notes an unknown instruction in the stream and builds on (notes §2 build; 20.10 refuses with 400)."""
    from .expect import BODY_RULE, expect_success, fail
    from .strategies import tar_of

    context = tar_of({"Dockerfile": f"FROM {image}\nFROMM nothing\nENV V114 1\n".encode()})
    r = api.post("/build", {"t": names("skip")}, body=context, headers={"Content-Type": "application/tar"})
    expect_success(api, RULEBOOK["system.build"], r, "a build with an unknown instruction")
    if b"Skipping unknown instruction FROMM" not in r.content:
        fail(api, r, BODY_RULE, "a build notes an unknown instruction and goes on",
             '{"stream":"...# Skipping unknown instruction FROMM..."} then the build', "notes §2 build")
