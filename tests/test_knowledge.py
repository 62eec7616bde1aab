"""ContainerKnowledge: every way the traffic names a container resolves to one key."""

from __future__ import annotations

from conformance.knowledge import ContainerKnowledge

A = "abc1" + "0" * 60
B = "abc2" + "0" * 60


def test_name_id_and_unique_prefix_name_the_same_container():
    k = ContainerKnowledge()
    k.remember(A, "/web", tty=True)
    k.observed(A, "/web", "created")
    k.moved("web", "containers.start")
    for ref in (A, "web", "/web", A[:12], "abc1"):
        assert k.tty(ref) is True, ref
        assert k.state(ref) == "running", ref
    k.moved(A[:6], "containers.pause")
    assert k.state("/web") == "paused"
    k.moved("web", "containers.delete")
    assert k.state(A) is None and k.tty(A) is True  # removed: its state is gone, not its stream kind


def test_an_ambiguous_prefix_or_an_unseen_container_is_not_known():
    k = ContainerKnowledge()
    k.remember(A, None, tty=False)
    k.remember(B, None, tty=True)
    assert k.tty("abc") is None  # two ids start with it: 1.2.0 answers an error, the checker does not guess
    assert k.tty("abc2") is True and k.tty("abc1") is False
    assert k.tty("nosuch") is None and k.state("b00") is None


def test_a_container_known_by_name_first_keeps_what_was_learnt_once_its_id_is_seen():
    k = ContainerKnowledge()
    k.observed(None, "db", "running")
    assert k.state("db") == "running"
    k.remember(A, "/db", tty=False)  # an inspect answer brings the id
    assert k.state(A) == "running" and k.state(A[:5]) == "running" and k.tty("db") is False
