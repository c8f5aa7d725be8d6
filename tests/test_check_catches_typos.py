"""`bridge check` names what was meant: event types in Apple's SCREAMING_SNAKE_CASE, states in
the wrong case or of another event type, `from:` where the old state may be missing; and
`--strict` turns every warning into exit status 1, for CI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.cli import cli
from bridge.routing.load import load_routes

SOURCES = """\
sources:
  ios-app:
    provider: appstoreconnect
    secret: s3cret
routes:
  - name: r
    source: ios-app
    dispatch:
      repository: team/ios
      event_type: built
"""


def warnings(tmp_path: Path, route: str) -> list[str]:
    path = tmp_path / "routes.yaml"
    path.write_text(SOURCES + textwrap.indent(textwrap.dedent(route), "    "))
    return [w.split(": ", 1)[1] for w in load_routes(path, {}).warnings]


def check(tmp_path: Path, route: str, *args: str) -> Result:
    path = tmp_path / "routes.yaml"
    path.write_text(SOURCES + textwrap.indent(textwrap.dedent(route), "    "))
    env = {"BRIDGE_ROUTES": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    return CliRunner().invoke(cli, ["check", *args], env=env)


@pytest.mark.parametrize(
    ("event", "meant"),
    [
        ("BUILD_UPLOAD_STATE_UPDATED", "'buildUploadStateUpdated'? (webhooks carry the camelCase"),
        ("buildUploadStatusUpdated", "'buildUploadStateUpdated'?"),
        ("builduploadstateupdated", "'buildUploadStateUpdated'?"),
    ],
)
def test_an_event_type_spelled_otherwise_gets_the_webhook_name(
    tmp_path: Path, event: str, meant: str
) -> None:
    (warning,) = warnings(tmp_path, f"event: {event}\n")
    assert warning.startswith(f"routes[0].event: {event!r} is not an event type appstoreconnect")
    assert f"; did you mean {meant}" in warning


@pytest.mark.parametrize(
    ("state", "meant"), [("complete", "COMPLETE"), ("COMPLETED", "COMPLETE"), ("Failed", "FAILED")]
)
def test_a_state_in_another_case_or_misspelled_gets_the_real_one(
    tmp_path: Path, state: str, meant: str
) -> None:
    (warning,) = warnings(tmp_path, f"event: buildUploadStateUpdated\nto: {state}\n")
    assert warning == (
        f"routes[0].to: {state!r} is not a state appstoreconnect sends; did you mean {meant!r}?"
    )


def test_a_state_of_another_event_type_is_named_as_such(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, "event: buildUploadStateUpdated\nto: READY_FOR_DISTRIBUTION\n")
    assert warning == (
        "routes[0].to: 'READY_FOR_DISTRIBUTION' is not a state of buildUploadStateUpdated "
        "(its states: AWAITING_UPLOAD, COMPLETE, FAILED, PROCESSING)"
    )


def test_states_of_any_listed_event_type_are_accepted(tmp_path: Path) -> None:
    route = (
        "event: [buildUploadStateUpdated, appStoreVersionAppVersionStateUpdated]\n"
        "to: [COMPLETE, READY_FOR_DISTRIBUTION]\n"
    )
    assert warnings(tmp_path, route) == []


def test_a_state_on_an_event_type_without_states(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, "event: betaFeedbackCrashSubmissionCreated\nto: COMPLETE\n")
    assert warning == (
        "routes[0].to: betaFeedbackCrashSubmissionCreated events carry no state: this never matches"
    )


def test_from_on_an_event_type_whose_old_state_may_be_missing(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, "event: buildUploadStateUpdated\nfrom: PROCESSING\n")
    assert warning == (
        "routes[0].from: buildUploadStateUpdated payloads may carry only the new state (Apple's "
        "documented example has no old state), and `from` never matches those: match on `to` "
        "alone"
    )
    route = "event: appStoreVersionAppVersionStateUpdated\nfrom: IN_REVIEW\n"
    assert warnings(tmp_path, route) == []  # oldValue is documented there


def test_strict_fails_on_a_warning_and_passes_without(tmp_path: Path) -> None:
    typo = check(tmp_path, "event: buildUploadStateUpdated\nto: COMPLETED\n", "--strict")
    assert typo.exit_code == 1
    assert "did you mean 'COMPLETE'?" in typo.output
    assert "Error: 1 warning (--strict)" in typo.output
    assert check(tmp_path, "event: buildUploadStateUpdated\nto: COMPLETED\n").exit_code == 0
    clean = check(tmp_path, "event: buildUploadStateUpdated\nto: COMPLETE\n", "--strict")
    assert clean.exit_code == 0, clean.output
