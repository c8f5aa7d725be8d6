"""Nothing a client sends produces a 5xx, on SQLite and on PostgreSQL: signed bodies whose
fields hold unpaired surrogates, NUL, Unicode digits and numerals past Python's 4,300-digit
limit (also against a numeric ``when:`` value), and the log's query strings. Hypothesis
generates the bodies; every answer is a 2xx or a 4xx with a message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge import create_app
from tests.support.app import bridge
from tests.support.samples import PGYER_TOKEN, sample, signed

ADMIN = "admin-token-for-hostile-input-0123456789"
ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
  beta: {provider: pgyer, token: "${PGYER_TOKEN}"}
routes:
  - name: numeric-when
    source: ios
    event: buildUploadStateUpdated
    when: {data.version: 1}
    dispatch: {repository: acme/ios, event_type: numeric}
  - name: pgyer-numeric-when
    source: beta
    event: updateVersion
    when: {buildFileSize: 1024}
    dispatch: {repository: acme/android, event_type: numeric}
"""

# The classes of string that once made the intake answer 500 (RFC 8259 §8.2: an escape such
# as "\ud800" is valid JSON syntax but no character), mixed with ordinary text.
HOSTILE = st.one_of(
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from(["\x00", "a\x00b", "\x00" * 3]),
    # Characters str.isdigit() accepts and int() refuses, or int() reads as other digits.
    st.sampled_from(["\u00b2", "\u0663", "\U0001d7d7", "\u00b9\u00b2\u00b3", "\u216b", "\u2460"]),
    st.integers(min_value=4_300, max_value=6_000).map(lambda n: "9" * n),
    st.integers(min_value=4_300, max_value=6_000).map(lambda n: "1" + "0" * n + ".5"),
    st.text(max_size=20),
)
FIELD_VALUES = st.one_of(HOSTILE, st.integers(), st.none(), st.booleans())


@pytest.fixture
def hostile_app(store_url: str, tmp_path: Path, environ: dict[str, str]) -> Iterator[Flask]:
    routes = tmp_path / "hostile-routes.yaml"
    routes.write_text(ROUTES)
    app = create_app(
        environ={
            **environ,
            "DATABASE_URL": store_url,
            "BRIDGE_ROUTES": str(routes),
            "BRIDGE_ADMIN_TOKEN": ADMIN,
        }
    )
    yield app
    bridge(app).close()


def asc_body(changes: dict[str, Any]) -> bytes:
    body = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    data = body["data"]
    for key, value in changes.items():
        if key in ("oldState", "newState", "timestamp"):
            data["attributes"][key] = value
        else:
            data[key] = value
    return json.dumps(body).encode()  # ensure_ascii: "\ud800" is sent as its JSON escape


def pgyer_body(changes: dict[str, Any]) -> bytes:
    body = json.loads(sample("pgyer/update-version.json"))
    body.update(changes)
    return json.dumps(body).encode()


def assert_not_5xx(status: int, payload: Any) -> None:
    assert status < 500, payload
    if status >= 400:
        assert isinstance(payload, dict) and payload.get("error"), payload


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(
        st.sampled_from(["id", "type", "version", "oldState", "newState", "timestamp"]),
        FIELD_VALUES,
        min_size=1,
    )
)
def test_signed_app_store_connect_bodies_never_get_a_5xx(
    hostile_app: Flask, changes: dict[str, Any]
) -> None:
    body = asc_body(changes)
    response = hostile_app.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert_not_5xx(response.status_code, response.get_json())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(
        st.sampled_from(["type", "timestamp", "buildKey", "buildFileSize", "os_version"]),
        FIELD_VALUES,
        min_size=1,
    )
)
def test_authenticated_pgyer_bodies_never_get_a_5xx(
    hostile_app: Flask, changes: dict[str, Any]
) -> None:
    body = pgyer_body(changes)
    response = hostile_app.test_client().post(
        f"/webhooks/beta?token={PGYER_TOKEN}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert_not_5xx(response.status_code, response.get_json())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "\ud800"}, "unpaired surrogate"),
        ({"type": "\udfff"}, "unpaired surrogate"),
        ({"newState": "COMPLETE\ud83d"}, "unpaired surrogate"),
        ({"id": "a\x00b"}, "NUL"),
        ({"type": "buildUpload\x00StateUpdated"}, "NUL"),
    ],
)
def test_unencodable_strings_are_a_400_naming_the_problem(
    hostile_app: Flask, changes: dict[str, Any], message: str
) -> None:
    body = asc_body(changes)
    response = hostile_app.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code == 400
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    "changes",
    [{"timestamp": "²"}, {"timestamp": "9" * 5000}, {"buildFileSize": "9" * 5000}],
)
def test_pgyer_unicode_digits_and_huge_numerals_are_accepted_as_text(
    hostile_app: Flask, changes: dict[str, Any]
) -> None:
    body = pgyer_body(changes)
    response = hostile_app.test_client().post(
        f"/webhooks/beta?token={PGYER_TOKEN}", data=body, headers={"Content-Type": "text/json"}
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["routes"] == []  # a 5,000-digit string is not 1024


def test_a_huge_numeral_against_a_numeric_when_matches_nothing(hostile_app: Flask) -> None:
    body = asc_body({"version": "9" * 5000, "id": "huge-numeral"})
    response = hostile_app.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code == 202
    assert response.get_json()["routes"] == []


@pytest.mark.parametrize(
    "query",
    [
        "before=²",
        "before=" + "9" * 5000,
        "before=-1",
        "_method=DELETE",
        "_external=1&_anchor=x&_scheme=javascript",
        "refresh=on&_method=POST",
    ],
)
def test_the_log_page_never_answers_5xx_and_links_carry_only_its_filters(
    hostile_app: Flask, query: str
) -> None:
    client = hostile_app.test_client()
    assert client.post("/login", data={"token": ADMIN}).status_code == 302
    response = client.get(f"/deliveries?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "_method" not in page and "_anchor" not in page and "javascript" not in page
    assert 'href="http' not in page  # every link on the page stays relative
