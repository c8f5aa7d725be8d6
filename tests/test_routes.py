"""routes.yaml: loading errors point at file, line and path; warnings; matching."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bridge.events import Event, Instance
from bridge.providers import PROVIDERS
from bridge.routing.load import load_routes
from bridge.routing.matching import match
from bridge.routing.model import RepositoryDispatch, RoutesConfig, RoutesError, WorkflowDispatch
from tests.support.providers import provider_like

REPO = Path(__file__).resolve().parents[1]

# Lines 1-8; a route given to `routes_file` starts on line 9.
SOURCES = """\
sources:
  ios-app:
    provider: appstoreconnect
    secret: s3cret
  android-beta:
    provider: pgyer
    token: t0ken
routes:
"""

ROUTE = """\
  - name: r
    event: buildUploadStateUpdated
    dispatch:
      repository: acme/ios-app
      event_type: built
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def routes_file(tmp_path: Path, routes: str) -> Path:
    return write(tmp_path, SOURCES + textwrap.dedent(routes))


def problems_of(path: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(RoutesError) as info:
        load_routes(path, environ or {})
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def only_problem(path: Path, environ: Mapping[str, str] | None = None) -> str:
    problems = problems_of(path, environ)
    assert len(problems) == 1, problems
    return problems[0]


# --- load errors, one per kind ----------------------------------------------------------


def test_unknown_key_names_line_path_and_suggestion(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "    evnt: x\n")
    assert only_problem(path) == f"{path}:14: routes[0]: unknown key 'evnt'; did you mean 'event'?"


def test_file_name_is_reported_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    routes_file(tmp_path, ROUTE + "    evnt: x\n")
    monkeypatch.chdir(tmp_path)
    assert only_problem(Path("routes.yaml")).startswith("routes.yaml:14: routes[0]: ")


def test_wrong_type(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("event_type: built", "event_type: [a, b]"))
    expected = f"{path}:13: routes[0].dispatch.event_type: must be a string, got a list"
    assert only_problem(path) == expected


def test_wrong_type_of_string_or_list(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("buildUploadStateUpdated", "{a: 1}"))
    expected = "routes[0].event: must be a string or a list of strings, got a mapping"
    assert only_problem(path) == f"{path}:10: {expected}"


def test_missing_required_key(tmp_path: Path) -> None:
    path = routes_file(tmp_path, "  - name: r\n    event: updateVersion\n")
    assert only_problem(path) == (
        f"{path}:9: routes[0]: a route needs `dispatch` (GitHub) or `notify` (targets)"
    )


def test_missing_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "routes: []\n")
    assert only_problem(path) == f"{path}:1: missing required key 'sources'"


def test_unset_variable_names_variable_and_place(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("s3cret", "${ASC_SECRET}"))
    expected = "sources.ios-app.secret: environment variable ASC_SECRET is not set"
    # One problem: the empty value it leaves behind is not reported again.
    assert only_problem(path, {"OTHER": "x"}).startswith(f"{path}:4: {expected}")


def test_every_unset_variable_is_named(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("acme/ios-app", "${OWNER}/${NAME}"))
    problems = problems_of(path)
    assert [p.split(": ", 2)[2] for p in problems] == [
        "environment variable OWNER is not set (and no default given)",
        "environment variable NAME is not set (and no default given)",
    ]


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    problem = only_problem(write(tmp_path, "\n".join(lines) + "\n"))
    assert problem == (
        f"{tmp_path / 'routes.yaml'}:1: the document is too large: aliases expand to over "
        "100000 values"
    )


def test_default_used_when_unset_or_empty(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("s3cret", "${ASC_SECRET:-fallback}"))
    assert load_routes(path, {}).sources["ios-app"].secrets == ("fallback",)
    assert load_routes(path, {"ASC_SECRET": ""}).sources["ios-app"].secrets == ("fallback",)
    assert load_routes(path, {"ASC_SECRET": "set"}).sources["ios-app"].secrets == ("set",)


def test_dollar_dollar_brace_is_a_literal(tmp_path: Path) -> None:
    path = routes_file(
        tmp_path,
        ROUTE + '      client_payload: {a: "$${HOME}-${HOME}", b: "$$x"}\n',
    )
    dispatch = load_routes(path, {"HOME": "/root"}).routes[0].dispatch
    assert isinstance(dispatch, RepositoryDispatch)
    assert dispatch.client_payload == {"a": "${HOME}-/root", "b": "$$x"}


def test_malformed_reference(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("built", "${{ github.sha }}"))
    problem = only_problem(path)
    assert problem.startswith(f"{path}:13: routes[0].dispatch.event_type: '${{' must start")
    assert "write $${" in problem


def test_variable_values_never_appear_in_messages(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("acme/ios-app", "${REPO}"))
    problem = only_problem(path, {"REPO": "topsecret-value"})
    assert "topsecret" not in problem
    assert problem.startswith(f"{path}:12: routes[0].dispatch.repository: the value of ${{REPO}}")


def test_duplicate_route_name_names_both_lines(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + ROUTE)
    expected = f"{path}:14: routes[1].name: duplicate route name 'r' (first used on line 9)"
    assert only_problem(path) == expected


def test_unknown_source_reference(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "    source: [android-beta, ios]\n")
    problem = only_problem(path)
    assert problem.startswith(f"{path}:14: routes[0].source[1]: unknown source 'ios'")
    assert "did you mean 'ios-app'?" in problem


def _payload(keys: int) -> str:
    return "      client_payload:\n" + "".join(f"        k{i}: v\n" for i in range(keys))


def test_client_payload_with_nine_keys_loads(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + _payload(9))
    dispatch = load_routes(path, {}).routes[0].dispatch
    assert isinstance(dispatch, RepositoryDispatch)
    assert dispatch.client_payload is not None
    assert len(dispatch.client_payload) == 9


def test_client_payload_with_ten_keys(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + _payload(10))
    assert only_problem(path) == (
        f"{path}:14: routes[0].dispatch.client_payload: has 10 top-level keys; GitHub allows "
        "10 and bridge always adds a `bridge` key carrying the delivery's correlation id, "
        "so at most 9"
    )


def test_reserved_bridge_key(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "      client_payload:\n        bridge: x\n")
    problem = only_problem(path)
    assert problem.startswith(f"{path}:15: routes[0].dispatch.client_payload.bridge: ")
    assert "reserved" in problem


def test_event_type_of_100_characters_loads(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("built", "e" * 100))
    assert load_routes(path, {}).routes[0].dispatch == RepositoryDispatch(
        "acme/ios-app", "e" * 100, None
    )


def test_event_type_of_101_characters(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("built", "e" * 101))
    expected = "routes[0].dispatch.event_type: is 101 characters; GitHub allows at most 100"
    assert only_problem(path) == f"{path}:13: {expected}"


WORKFLOW_ROUTE = """\
  - name: w
    event: updateVersion
    dispatch:
      repository: acme/android
      workflow: release.yml
      ref: main
"""


def _inputs(count: int) -> str:
    return "      inputs:\n" + "".join(f"        i{i}: v\n" for i in range(count))


def test_25_inputs_load(tmp_path: Path) -> None:
    path = routes_file(tmp_path, WORKFLOW_ROUTE + _inputs(25))
    dispatch = load_routes(path, {}).routes[0].dispatch
    assert isinstance(dispatch, WorkflowDispatch)
    assert (dispatch.workflow, dispatch.ref) == ("release.yml", "main")
    assert dispatch.inputs is not None
    assert len(dispatch.inputs) == 25


def test_26_inputs(tmp_path: Path) -> None:
    path = routes_file(tmp_path, WORKFLOW_ROUTE + _inputs(26))
    expected = "routes[0].dispatch.inputs: has 26 inputs; GitHub allows at most 25"
    assert only_problem(path) == f"{path}:15: {expected}"


def test_input_values_must_be_scalars(tmp_path: Path) -> None:
    path = routes_file(tmp_path, WORKFLOW_ROUTE + "      inputs:\n        a: [1]\n")
    expected = "routes[0].dispatch.inputs.a: must be a scalar (string, number or boolean)"
    assert only_problem(path).startswith(f"{path}:16: {expected}, got a list")


def test_both_event_type_and_workflow(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "      workflow: release.yml\n      ref: main\n")
    problem = only_problem(path)
    assert problem.startswith(f"{path}:11: routes[0].dispatch: mixes repository_dispatch keys")
    assert "(workflow, ref)" in problem


def test_neither_event_type_nor_workflow(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE.replace("      event_type: built\n", ""))
    assert only_problem(path) == (
        f"{path}:11: routes[0].dispatch: needs `event_type` (repository_dispatch) or "
        "`workflow` and `ref` (workflow_dispatch)"
    )


def test_workflow_without_ref(tmp_path: Path) -> None:
    path = routes_file(tmp_path, WORKFLOW_ROUTE.replace("      ref: main\n", ""))
    assert only_problem(path) == (
        f"{path}:11: routes[0].dispatch: workflow_dispatch needs `workflow` and `ref`; "
        "missing `ref`"
    )


@pytest.mark.parametrize("repository", ["acme", "acme/ios/app", "a b/c", "/name"])
def test_bad_repository_form(tmp_path: Path, repository: str) -> None:
    path = routes_file(tmp_path, ROUTE.replace("acme/ios-app", json.dumps(repository)))
    problem = only_problem(path)
    assert problem.startswith(f"{path}:12: routes[0].dispatch.repository: ")
    assert "must be owner/name" in problem


def test_appstoreconnect_source_without_secret(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("    secret: s3cret\n", ""))
    expected = "sources.ios-app: an appstoreconnect source needs `secret` or `secrets`"
    assert only_problem(path) == f"{path}:2: {expected}"


def test_pgyer_source_without_token(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("    token: t0ken\n", ""))
    expected = "sources.android-beta: a pgyer source needs `token` or `tokens`"
    assert only_problem(path) == f"{path}:5: {expected}"


@pytest.mark.parametrize(
    ("secret", "environ"),
    [('""', {}), ("${ASC_SECRET}", {"ASC_SECRET": ""}), ("${ASC_SECRET:-}", {})],
)
def test_empty_secret(tmp_path: Path, secret: str, environ: dict[str, str]) -> None:
    path = write(tmp_path, SOURCES.replace("s3cret", secret))
    assert only_problem(path, environ).startswith(
        f"{path}:4: sources.ios-app.secret: must not be empty"
    )


def test_empty_secrets_list(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("secret: s3cret", "secrets: []"))
    assert only_problem(path) == f"{path}:4: sources.ios-app.secrets: must not be an empty list"


def test_secrets_list_is_kept_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("secret: s3cret", 'secrets: ["${NEW}", "${OLD}"]'))
    config = load_routes(path, {"NEW": "n", "OLD": "o"})
    assert config.sources["ios-app"].secrets == ("n", "o")
    assert config.sources["android-beta"].secrets == ("t0ken",)


def test_unquoted_reference_in_a_flow_list_gets_a_hint(tmp_path: Path) -> None:
    # `{` is a YAML flow indicator: [${NEW}, ${OLD}] does not parse, whatever bridge does.
    path = write(tmp_path, SOURCES.replace("secret: s3cret", "secrets: [${NEW}, ${OLD}]"))
    problem = only_problem(path, {"NEW": "n", "OLD": "o"})
    assert problem.startswith(f"{path}:4: YAML syntax error: ")
    assert problem.endswith('quote ${VAR}: ["${NEW}", "${OLD}"])')


def test_secret_and_secrets_together(tmp_path: Path) -> None:
    path = write(
        tmp_path, SOURCES.replace("    secret: s3cret\n", "    secret: a\n    secrets: [b]\n")
    )
    expected = "sources.ios-app.secrets: give `secret` or `secrets`, not both"
    assert only_problem(path) == f"{path}:5: {expected}"


def test_token_on_an_appstoreconnect_source(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("    secret: s3cret\n", "    secret: a\n    token: b\n"))
    assert only_problem(path) == (
        f"{path}:5: sources.ios-app.token: `token` is for pgyer sources; "
        "an appstoreconnect source takes `secret` or `secrets`"
    )


def test_unknown_provider(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("provider: pgyer", "provider: pgyr"))
    problem = only_problem(path)
    assert problem.startswith(f"{path}:6: sources.android-beta.provider: must be one of ")
    assert "did you mean 'pgyer'?" in problem


@pytest.mark.parametrize("provider", ["[pgyer]", "{name: pgyer}", "3"])
def test_provider_that_is_not_a_name(tmp_path: Path, provider: str) -> None:
    path = write(tmp_path, SOURCES.replace("provider: pgyer", f"provider: {provider}"))
    problem = only_problem(path)
    assert problem.startswith(f"{path}:6: sources.android-beta.provider: must be one of ")


def test_bad_source_name(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES.replace("ios-app:", "ios app:"))
    problem = only_problem(path)
    assert problem.startswith(f'{path}:2: sources["ios app"]: invalid name: ')


def test_jinja_syntax_error(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + '      client_payload:\n        id: "{{ event.id "\n')
    problem = only_problem(path)
    assert problem.startswith(
        f"{path}:15: routes[0].dispatch.client_payload.id: template does not compile: "
    )
    assert "end of print statement" in problem  # Jinja's own message


def test_jinja_unknown_filter_is_caught_at_load(tmp_path: Path) -> None:
    path = routes_file(tmp_path, WORKFLOW_ROUTE + '      inputs: {v: "{{ 1 | nope }}"}\n')
    assert "No filter named 'nope'" in only_problem(path)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, SOURCES + "  - name: r\n    event: [a, b\n    dispatch: x\n")
    problem = only_problem(path)
    assert problem.startswith(f"{path}:11: YAML syntax error: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert only_problem(path) == f"{path}: cannot read the file: No such file or directory"


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing yet\n")
    assert "the file is empty" in only_problem(path)


def test_document_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n")
    assert only_problem(path) == f"{path}:1: the document must be a mapping, got a list"


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "    event: updateVersion\n")
    assert only_problem(path) == f"{path}:14: routes[0].event: duplicate key (first on line 10)"


def test_non_string_key(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "      client_payload: {1: a}\n")
    assert "key '1' must be a string" in only_problem(path)


def test_when_path_must_name_an_event_field(tmp_path: Path) -> None:
    path = routes_file(tmp_path, ROUTE + "    when: {event.newstate: X}\n")
    problem = only_problem(path)
    assert problem.startswith(f'{path}:14: routes[0].when["event.newstate"]: names no event field')
    assert "did you mean 'event.new_state'?" in problem


def test_merge_keys_and_anchors(tmp_path: Path) -> None:
    routes = """\
      - name: a
        event: updateVersion
        dispatch: &to-android
          repository: acme/android
          workflow: release.yml
          ref: main
      - name: b
        event: feedback
        dispatch:
          <<: *to-android
          ref: develop
    """
    config = load_routes(routes_file(tmp_path, routes), {})
    assert config.routes[1].dispatch == WorkflowDispatch(
        "acme/android", "release.yml", "develop", None
    )


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    routes = """\
      - name: a
        evnt: x
        event: buildUploadStateUpdated
        dispatch: {repository: acme, event_type: x}
      - name: a
        event: updateVersion
        dispatch: {repository: a/b}
    """
    path = write(tmp_path, SOURCES.replace("s3cret", "${UNSET}") + textwrap.dedent(routes))
    prefixes = [p.split(": ")[:2] for p in problems_of(path)]
    assert prefixes == [
        [f"{path}:4", "sources.ios-app.secret"],
        [f"{path}:10", "routes[0]"],  # unknown key 'evnt': the key's own line
        [f"{path}:12", "routes[0].dispatch.repository"],
        [f"{path}:13", "routes[1].name"],
        [f"{path}:15", "routes[1].dispatch"],
    ]


# --- warnings ---------------------------------------------------------------------------


def warnings_of(tmp_path: Path, routes: str) -> list[str]:
    return list(load_routes(routes_file(tmp_path, routes), {}).warnings)


def test_valid_file_has_no_warnings(tmp_path: Path) -> None:
    routes = ROUTE + "    to: [COMPLETE, FAILED]\n"  # (`from` on this type: a warning)
    assert warnings_of(tmp_path, routes) == []


def test_event_typo_suggests_the_real_name(tmp_path: Path) -> None:
    routes = ROUTE.replace("buildUploadStateUpdated", "buildUploadStateUpdate")
    path = tmp_path / "routes.yaml"
    assert warnings_of(tmp_path, routes + "    source: ios-app\n") == [
        f"{path}:10: routes[0].event: 'buildUploadStateUpdate' is not an event type "
        "appstoreconnect sends; did you mean 'buildUploadStateUpdated'?"
    ]


def test_event_no_provider_sends_for_a_route_without_source(tmp_path: Path) -> None:
    routes = ROUTE.replace("buildUploadStateUpdated", "[updateVersion, buildUploadStateUpdate]")
    (warning,) = warnings_of(tmp_path, routes)
    assert ":10: routes[0].event[1]: 'buildUploadStateUpdate' is not an event type any " in warning
    assert warning.endswith("did you mean 'buildUploadStateUpdated'?")


def test_event_of_another_provider_than_the_source(tmp_path: Path) -> None:
    (warning,) = warnings_of(tmp_path, ROUTE + "    source: android-beta\n")
    assert "'buildUploadStateUpdated' is not an event type pgyer sends" in warning


def test_star_does_not_warn(tmp_path: Path) -> None:
    routes = ROUTE.replace("buildUploadStateUpdated", '"*"') + "    source: android-beta\n"
    assert warnings_of(tmp_path, routes) == []


def test_state_typo_on_an_appstoreconnect_only_route(tmp_path: Path) -> None:
    routes = ROUTE + "    to: [FAILED, COMPLET]\n"
    (warning,) = warnings_of(tmp_path, routes)
    assert warning.endswith(
        ":14: routes[0].to[1]: 'COMPLET' is not a state appstoreconnect sends; "
        "did you mean 'COMPLETE'?"
    )


def test_state_on_a_mixed_route_is_not_checked(tmp_path: Path) -> None:
    routes = ROUTE.replace("buildUploadStateUpdated", '"*"') + "    from: ANYTHING\n"
    assert warnings_of(tmp_path, routes) == []


def test_state_on_a_pgyer_route_never_matches(tmp_path: Path) -> None:
    routes = ROUTE.replace("buildUploadStateUpdated", "updateVersion") + "    from: ANYTHING\n"
    (warning,) = warnings_of(tmp_path, routes)
    assert warning.endswith(":14: routes[0].from: pgyer events carry no state: this never matches")


def test_states_are_the_ones_the_provider_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = frozenset({"PUBLISHED"})
    monkeypatch.setitem(
        PROVIDERS,
        "pgyer",
        provider_like("pgyer", STATES_BY_EVENT_TYPE={"updateVersion": published}, STATES=published),
    )
    routes = ROUTE.replace("buildUploadStateUpdated", "updateVersion") + "    to: PUBLISHD\n"
    (warning,) = warnings_of(tmp_path, routes)
    assert warning.endswith(
        ":14: routes[0].to: 'PUBLISHD' is not a state pgyer sends; did you mean 'PUBLISHED'?"
    )


def test_credential_keys_are_the_ones_each_provider_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        PROVIDERS,
        "appstoreconnect",
        provider_like("appstoreconnect", CREDENTIAL_KEYS=("token", "tokens")),
    )
    monkeypatch.setitem(
        PROVIDERS, "pgyer", provider_like("pgyer", CREDENTIAL_KEYS=("secret", "secrets"))
    )
    swapped = SOURCES.replace("secret: s3cret", "tokens: [s3cret, old]")
    config = load_routes(write(tmp_path, swapped.replace("token: t0ken", "secret: t0ken")), {})
    assert config.sources["ios-app"].secrets == ("s3cret", "old")
    assert config.sources["android-beta"].secrets == ("t0ken",)
    assert [p.split(": ", 1)[1] for p in problems_of(write(tmp_path, SOURCES))] == [
        "sources.ios-app: an appstoreconnect source needs `token` or `tokens`",
        "sources.ios-app.secret: `secret` is for pgyer sources; "
        "an appstoreconnect source takes `token` or `tokens`",
        "sources.android-beta: a pgyer source needs `secret` or `secrets`",
        "sources.android-beta.token: `token` is for appstoreconnect sources; "
        "a pgyer source takes `secret` or `secrets`",
    ]


def test_unquoted_number_that_reads_differently(tmp_path: Path) -> None:
    routes = ROUTE + "    when:\n      payload.os_version: 2.10\n      payload.n: [1, 010]\n"
    warnings = warnings_of(tmp_path, routes)
    assert [w.split(": ", 1)[1] for w in warnings] == [
        'routes[0].when["payload.os_version"]: 2.10 is read as the number 2.1; quote it '
        '("2.10") to compare it as text',
        'routes[0].when["payload.n"][1]: 010 is read as the number 8; quote it ("010") '
        "to compare it as text",
    ]


# --- matching ---------------------------------------------------------------------------

MATCH_SOURCES = {
    "ios": {"provider": "appstoreconnect", "secret": "s"},
    "ios2": {"provider": "appstoreconnect", "secret": "s"},
    "droid": {"provider": "pgyer", "token": "t"},
}
DISPATCH = {"repository": "acme/app", "event_type": "go"}


def config_with(tmp_path: Path, *routes: dict[str, Any]) -> RoutesConfig:
    document = {"sources": MATCH_SOURCES, "routes": [{**r, "dispatch": DISPATCH} for r in routes]}
    return load_routes(write(tmp_path, yaml.safe_dump(document, sort_keys=False)), {})


def event(**fields: Any) -> Event:
    defaults: dict[str, Any] = {
        "source": "ios",
        "provider": "appstoreconnect",
        "type": "buildUploadStateUpdated",
        "id": "e-1",
        "old_state": "PROCESSING",
        "new_state": "COMPLETE",
        "instance": Instance("buildUploads", "b-1"),
        "payload": {
            "data": {"attributes": {"newState": "COMPLETE"}},
            "os_version": "2.4",
            "build": 5,
            "flag": True,
            "none": None,
            "territories": ["USA", "FRA"],
        },
    }
    return Event(**{**defaults, **fields})


BUILD = "buildUploadStateUpdated"
VERSION = "appStoreVersionAppVersionStateUpdated"

MATCH_TABLE: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("event name", {"event": BUILD}, {}, True),
    ("other event name", {"event": VERSION}, {}, False),
    ("event list", {"event": [VERSION, BUILD]}, {}, True),
    ("event list without it", {"event": [VERSION, "updateVersion"]}, {}, False),
    ("star", {"event": "*"}, {"type": "anything"}, True),
    ("star in a list", {"event": ["*", VERSION]}, {}, True),
    ("from", {"event": "*", "from": "PROCESSING"}, {}, True),
    ("from other", {"event": "*", "from": "AWAITING_UPLOAD"}, {}, False),
    ("from, no old state", {"event": "*", "from": "PROCESSING"}, {"old_state": None}, False),
    ("to list", {"event": "*", "to": ["FAILED", "COMPLETE"]}, {}, True),
    ("to list without it", {"event": "*", "to": ["FAILED"]}, {}, False),
    ("to, no new state", {"event": "*", "to": "COMPLETE"}, {"new_state": None}, False),
    ("no from/to, no states", {"event": "*"}, {"old_state": None, "new_state": None}, True),
    ("source", {"event": "*", "source": "ios"}, {}, True),
    ("other source", {"event": "*", "source": "ios2"}, {}, False),
    ("source list", {"event": "*", "source": ["droid", "ios2"]}, {"source": "droid"}, True),
    (
        "payload path",
        {"event": "*", "when": {"payload.data.attributes.newState": "COMPLETE"}},
        {},
        True,
    ),
    (
        "bare payload path",
        {"event": "*", "when": {"data.attributes.newState": "COMPLETE"}},
        {},
        True,
    ),
    (
        "payload path, other value",
        {"event": "*", "when": {"data.attributes.newState": "FAILED"}},
        {},
        False,
    ),
    (
        "list of values",
        {"event": "*", "when": {"data.attributes.newState": ["FAILED", "COMPLETE"]}},
        {},
        True,
    ),
    ("all conditions hold", {"event": "*", "when": {"build": 5, "flag": True}}, {}, True),
    ("one condition fails", {"event": "*", "when": {"build": 5, "flag": False}}, {}, False),
    (
        "event.instance.type",
        {"event": "*", "when": {"event.instance.type": "buildUploads"}},
        {},
        True,
    ),
    (
        "event.instance.type, none",
        {"event": "*", "when": {"event.instance.type": "buildUploads"}},
        {"instance": None},
        False,
    ),
    (
        "event.instance null",
        {"event": "*", "when": {"event.instance": None}},
        {"instance": None},
        True,
    ),
    (
        "event.new_state list",
        {"event": "*", "when": {"event.new_state": ["FAILED", "COMPLETE"]}},
        {},
        True,
    ),
    ("event.source", {"event": "*", "when": {"event.source": "ios2"}}, {}, False),
    ("YAML number, JSON string", {"event": "*", "when": {"os_version": 2.4}}, {}, True),
    ("YAML number, other JSON string", {"event": "*", "when": {"os_version": 2.5}}, {}, False),
    ("YAML string, JSON number", {"event": "*", "when": {"build": "5"}}, {}, True),
    ("YAML string, JSON string", {"event": "*", "when": {"os_version": "2.4"}}, {}, True),
    ("true matches true", {"event": "*", "when": {"flag": True}}, {}, True),
    (
        "true is not 'True'",
        {"event": "*", "when": {"flag": True}},
        {"payload": {"flag": "True"}},
        False,
    ),
    ("true is not 1", {"event": "*", "when": {"flag": True}}, {"payload": {"flag": 1}}, False),
    ("1 is not true", {"event": "*", "when": {"flag": 1}}, {}, False),
    ("missing matches null", {"event": "*", "when": {"data.nope": None}}, {}, True),
    ("missing deep in a string", {"event": "*", "when": {"os_version.x": None}}, {}, True),
    ("missing is not a value", {"event": "*", "when": {"data.nope": "x"}}, {}, False),
    ("JSON null matches null", {"event": "*", "when": {"none": None}}, {}, True),
    ("present is not null", {"event": "*", "when": {"build": None}}, {}, False),
    ("list index", {"event": "*", "when": {"territories.1": "FRA"}}, {}, True),
    ("list index out of range", {"event": "*", "when": {"territories.2": None}}, {}, True),
    ("mapping is not a scalar", {"event": "*", "when": {"data": "COMPLETE"}}, {}, False),
]


@pytest.mark.parametrize(
    ("route", "fields", "expected"),
    [row[1:] for row in MATCH_TABLE],
    ids=[row[0] for row in MATCH_TABLE],
)
def test_match_table(
    tmp_path: Path, route: dict[str, Any], fields: dict[str, Any], expected: bool
) -> None:
    config = config_with(tmp_path, {"name": "r", **route})
    assert [r.name for r in match(config, event(**fields))] == (["r"] if expected else [])


def test_fan_out_in_file_order(tmp_path: Path) -> None:
    config = config_with(
        tmp_path,
        {"name": "zeta", "event": BUILD},
        {"name": "middle", "event": VERSION},
        {"name": "alpha", "event": "*", "to": "COMPLETE"},
        {"name": "omega", "source": "ios", "event": [BUILD]},
    )
    assert [r.name for r in match(config, event())] == ["zeta", "alpha", "omega"]
    assert config.route("middle") is config.routes[1]
    assert config.route("nope") is None


@pytest.mark.parametrize("routes", ["  []\n", "", "  # all commented out\n"])
def test_no_routes(tmp_path: Path, routes: str) -> None:
    path = write(tmp_path, SOURCES + routes)
    config = load_routes(path, {})
    assert config.routes == ()
    assert match(config, event()) == []


def test_route_fields(tmp_path: Path) -> None:
    routes = ROUTE + "    description: hello\n    source: ios-app\n    from: PROCESSING\n"
    route = load_routes(routes_file(tmp_path, routes), {}).routes[0]
    assert route.description == "hello"
    assert route.sources == frozenset({"ios-app"})
    assert route.events == frozenset({BUILD})
    assert route.from_states == frozenset({"PROCESSING"})
    assert route.to_states is None
    assert route.when == ()


# --- the schema and the shipped example -------------------------------------------------


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _subschemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subschemas(value)


def test_schema_is_valid_and_documents_every_property() -> None:
    schema = json.loads((REPO / "bridge" / "routing" / "routes.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    for sub in _subschemas(schema):
        if sub.get("type") == "object" and "properties" in sub:
            assert sub.get("additionalProperties") is False, sub.get("title")
        for name, prop in sub.get("properties", {}).items():
            ref = prop.get("$ref", "").removeprefix("#/$defs/")
            documented = {**defs.get(ref, {}), **prop}
            assert documented.get("title"), name
            assert documented.get("description"), name


def test_schema_declares_what_the_providers_declare() -> None:
    """Editors read routes.schema.json as a file, so it names the providers and their
    credential keys itself; they must be the ones PROVIDERS declares."""
    schema = json.loads((REPO / "bridge" / "routing" / "routes.schema.json").read_text("utf-8"))
    source = schema["$defs"]["source"]["properties"]
    assert source["provider"]["enum"] == list(PROVIDERS)
    credential_keys = set()
    for name, provider in PROVIDERS.items():
        one, many = provider.CREDENTIAL_KEYS
        assert source[one]["$ref"] == "#/$defs/nonEmptyString", one
        assert source[many]["type"] == "array", many
        assert source[many]["minItems"] == 1, many
        assert source[many]["items"] == {"$ref": "#/$defs/nonEmptyString"}, many
        assert re.search(rf"\((\w+, )*{name}\b", source[one]["title"]), one
        assert re.search(rf"\((\w+, )*{name}\b", source[many]["title"]), many
        credential_keys |= {one, many}
    assert set(source) - credential_keys == {
        "provider",
        "enrich",
        "webhook_id",
        "silent_after",
        "limit",
        "max_age",
    }


def test_repo_root_schema_is_the_package_schema() -> None:
    root = REPO / "routes.schema.json"
    assert root.is_symlink()
    assert root.resolve() == (REPO / "bridge" / "routing" / "routes.schema.json").resolve()


def test_shipped_example_loads() -> None:
    example = REPO / "routes.yaml"
    if not example.exists():
        pytest.skip("routes.yaml is not written yet")
    # Without an environment, the only problems are the variables it needs (the secrets).
    needed = [re.search(r"environment variable (\w+) is not set", p) for p in problems_of(example)]
    assert all(needed), needed
    config = load_routes(example, {m.group(1): "value" for m in needed if m})
    assert config.sources
    assert config.routes
    # The only warnings: IOS_REPOSITORY and ANDROID_REPOSITORY are unset here.
    assert len(config.warnings) == len(config.placeholders) == 7
