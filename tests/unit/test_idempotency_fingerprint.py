"""Idempotency fingerprints: the same request gives the same one, any difference another."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.events.idempotency import fingerprint

BODY = b'{"sailing_id": "s1", "load": "FCL", "units": 1}'


def test_the_same_request_has_the_same_fingerprint() -> None:
    assert fingerprint("POST", "/v1/holds", BODY) == fingerprint("POST", "/v1/holds", BODY)


def test_another_body_path_or_method_has_another_fingerprint() -> None:
    base = fingerprint("POST", "/v1/holds", BODY)

    assert fingerprint("POST", "/v1/holds", BODY.replace(b"1}", b"2}")) != base
    assert fingerprint("POST", "/v1/holds/", BODY) != base
    assert fingerprint("PUT", "/v1/holds", BODY) != base


def test_moving_bytes_between_parts_changes_the_fingerprint() -> None:
    # Without length prefixes these would hash the same concatenation.
    assert fingerprint("POST", "/v1/holds", b"x") != fingerprint("POST", "/v1/hold", b"sx")
    assert fingerprint("POS", "T/v1/holds", b"") != fingerprint("POST", "/v1/holds", b"")


@given(
    st.tuples(st.sampled_from(["POST", "PUT", "PATCH"]), st.text(max_size=20), st.binary(max_size=40)),
    st.tuples(st.sampled_from(["POST", "PUT", "PATCH"]), st.text(max_size=20), st.binary(max_size=40)),
)
def test_different_requests_never_share_a_fingerprint(
    one: tuple[str, str, bytes], other: tuple[str, str, bytes]
) -> None:
    assert (fingerprint(*one) == fingerprint(*other)) == (one == other)
