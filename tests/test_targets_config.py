"""routes.yaml's targets:, notify: and alerts: as the loader checks them: every mistake named
with file:line, like every other routes.yaml error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.routing.load import load_routes
from bridge.routing.model import Notify, RoutesError

HEAD = """\
sources:
  ios: {provider: appstoreconnect, secret: s}
"""
ENV = {"SLACK_URL": "https://hooks.slack.com/services/T/B/secret-part", "DT_SECRET": "SECabc"}


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "routes.yaml"
    path.write_text(HEAD + text)
    with pytest.raises(RoutesError) as caught:
        load_routes(path, ENV if environ is None else environ)
    return [p.replace(f"{path}:", "routes.yaml:") for p in caught.value.problems]


def test_a_valid_file_loads_targets_notify_and_alerts(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        HEAD
        + """\
targets:
  team: {kind: slack, url: "${SLACK_URL}"}
  qa: {kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: "${DT_SECRET}"}
routes:
  - name: r
    event: buildUploadStateUpdated
    notify: {target: [team, qa], mention: [all, "13800000000"]}
alerts: {failed: team, stuck: qa, stuck_after: 5m}
"""
    )
    config = load_routes(path, ENV)
    assert config.routes[0].dispatch == Notify(("team", "qa"), None, ("all", "13800000000"))
    assert config.alerts.stuck_after == 300.0
    assert config.targets["qa"].secret == "SECabc"
    assert config.secrets == {ENV["SLACK_URL"]: "${SLACK_URL}", "SECabc": "${DT_SECRET}"}
    assert not config.dispatches_to_github


def test_every_mistake_is_named_with_its_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
targets:
  team: {kind: slack, url: "${SLACK_URL}", secret: x}
  bot: {kind: telegram, token: t}
  odd: {kind: pager, url: "https://example.com"}
routes:
  - name: both
    event: buildUploadStateUpdated
    dispatch: {repository: acme/ios, event_type: x}
    notify: {target: team}
  - name: neither
    event: buildUploadStateUpdated
  - name: typo
    event: buildUploadStateUpdated
    notify: {target: [team, taem], text: "{{ event.type "}
alerts: {failed: nobody}
""",
    )
    assert "routes.yaml:4: targets.team.secret: a slack target does not take `secret`" in (found[0])
    assert found[1] == "routes.yaml:5: targets.bot: a telegram target needs `chat_id`"
    assert found[2].startswith("routes.yaml:6: targets.odd.kind: ")
    assert found[3] == (
        "routes.yaml:11: routes[0].notify: a route has `dispatch` (GitHub) or `notify` "
        "(targets), not both"
    )
    assert found[4] == (
        "routes.yaml:12: routes[1]: a route needs `dispatch` (GitHub) or `notify` (targets)"
    )
    assert found[5] == (
        "routes.yaml:16: routes[2].notify.target[1]: unknown target 'taem' "
        "(targets: bot, odd, team); did you mean 'team'?"
    )
    assert found[6].startswith("routes.yaml:16: routes[2].notify.text: template does not compile")
    assert found[7].startswith("routes.yaml:17: alerts.failed: unknown target 'nobody'")
    assert len(found) == 8


def test_a_missing_secret_names_the_variable_never_a_value(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
targets:
  team: {kind: slack, url: "${SLACK_URL}"}
routes:
  - name: r
    event: buildUploadStateUpdated
    notify: {target: team}
""",
        environ={},
    )
    assert found == [
        "routes.yaml:4: targets.team.url: environment variable SLACK_URL is not set "
        "(and no default given)"
    ]


def test_the_commented_examples_of_the_shipped_routes_yaml_load(tmp_path: Path) -> None:
    shipped = (Path(__file__).parent.parent / "routes.yaml").read_text()
    commented = shipped[shipped.index("# targets:") :]
    text = "\n".join(
        line[2:] if line.startswith("# ") else line[1:] for line in commented.splitlines()
    )
    targets, _, rest = text.partition("(these routes go under routes: above)")
    routes, _, alerts = rest.partition("alerts:")
    active = shipped[: shipped.index("# ----")]
    path = tmp_path / "routes.yaml"
    path.write_text(f"{targets}\n{active}\n{routes}\nalerts:{alerts}")
    names = ("SLACK_WEBHOOK_URL", "TEAMS_WEBHOOK_URL", "DINGTALK_WEBHOOK_URL", "FEISHU_WEBHOOK_URL",
             "WECOM_WEBHOOK_URL")  # fmt: skip
    environ = {name: "https://hooks.example.com/x" for name in names}
    environ |= {"ASC_WEBHOOK_SECRET": "s", "PGYER_WEBHOOK_TOKEN": "t", "DINGTALK_SECRET": "SECx",
                "FEISHU_SECRET": "f", "GITLAB_TRIGGER_TOKEN": "g"}  # fmt: skip
    config = load_routes(path, environ)
    notify = {r.name: r.dispatch for r in config.routes if isinstance(r.dispatch, Notify)}
    assert set(notify) == {
        "rejected-to-chat", "feedback-to-feishu", "pgyer-build-to-wecom",
        "processing-failed-to-teams", "live-to-gitlab",
    }  # fmt: skip
    assert config.alerts.failed == "team-slack"
