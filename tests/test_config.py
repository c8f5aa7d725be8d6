import pytest

from bridge.config import Settings, parse_bool, parse_duration, parse_size
from bridge.delivery.backoff import SCHEDULE, retry_delay
from bridge.errors import ConfigError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.routes_path == "routes.yaml"
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("bridge.db")
    assert s.github_api_url == "https://api.github.com"
    assert s.max_body_bytes == 1024 * 1024
    assert s.retry_horizon >= 24 * 3600
    assert not s.dry_run and s.run_dispatcher
    assert not s.github_configured


def test_environment_is_read() -> None:
    s = Settings.from_env(
        {
            "BRIDGE_ROUTES": "/etc/bridge/routes.yaml",
            "DATABASE_URL": "sqlite:////data/b.db",
            "GITHUB_TOKEN": "ghp_x",
            "GITHUB_API_URL": "https://ghe.example/api/v3",
            "GITHUB_APP_INSTALLATION_ID": "42",
            "PORT": "5000",
            "BRIDGE_DRY_RUN": "yes",
            "BRIDGE_DISPATCHER": "off",
            "BRIDGE_MAX_BODY": "2MiB",
            "BRIDGE_RETRY_HORIZON": "48h",
            "BRIDGE_LEASE": "90s",
        }
    )
    assert s.routes_path == "/etc/bridge/routes.yaml"
    assert s.github_configured and s.github_app_installation_id == 42 and s.port == 5000
    assert s.dry_run and not s.run_dispatcher
    assert (s.max_body_bytes, s.retry_horizon, s.lease_seconds) == (2 * 1024**2, 172800.0, 90.0)


def test_database_pool_fits_the_threads_of_one_process() -> None:
    assert Settings.from_env({}).db_pool_size == 4 + 4 + 2
    tuned = {"GUNICORN_THREADS": "8", "BRIDGE_DISPATCH_CONCURRENCY": "2"}
    assert Settings.from_env(tuned).db_pool_size == 8 + 2 + 2
    assert Settings.from_env({**tuned, "BRIDGE_DB_POOL_SIZE": "30"}).db_pool_size == 30


def test_retention_is_off_unless_set() -> None:
    assert Settings.from_env({}).retention is None
    assert Settings.from_env({"BRIDGE_RETENTION": "30d"}).retention == 30 * 86400


def test_secrets_are_not_in_repr() -> None:
    s = Settings.from_env({"GITHUB_TOKEN": "ghp_secret", "BRIDGE_ADMIN_TOKEN": "adm"})
    assert "ghp_secret" not in repr(s) and "adm" not in repr(s)


def test_app_credentials_need_both_parts() -> None:
    assert not Settings.from_env({"GITHUB_APP_ID": "1"}).github_configured
    assert Settings.from_env(
        {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "k"}
    ).github_configured


@pytest.mark.parametrize(
    ("var", "value"),
    [("PORT", "http"), ("PORT", "0"), ("BRIDGE_DRY_RUN", "maybe"), ("BRIDGE_MAX_BODY", "1 GB!"),
     ("BRIDGE_RETRY_HORIZON", "forever"), ("GITHUB_APP_INSTALLATION_ID", "-3"),
     ("BRIDGE_DISPATCH_CONCURRENCY", "0"), ("BRIDGE_DB_POOL_SIZE", "lots"),
     ("GUNICORN_THREADS", "0"), ("BRIDGE_RETENTION", "a month")],
)  # fmt: skip
def test_invalid_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})


def test_overrides() -> None:
    assert Settings.from_env({}).with_overrides({"dry_run": True}).dry_run
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.from_env({}).with_overrides({"dry_rn": True})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        ("30m", 1800.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, name="X") == seconds


@pytest.mark.parametrize(("text", "size"), [("1024", 1024), ("512KiB", 524288), ("1mb", 10**6)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text, name="X") == size


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("On", True), ("false", False), ("", False)]
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text, name="X") is value


def test_backoff_schedule_first_retries_within_seconds() -> None:
    mid = lambda: 0.5  # noqa: E731  (no jitter)
    delays = [retry_delay(n, cap=3600, rand=mid) for n in range(1, 10)]
    assert delays[:6] == list(SCHEDULE)
    assert delays[6:] == [3600.0, 3600.0, 3600.0]  # doubling, capped


def test_backoff_jitter_and_retry_after_floor() -> None:
    assert retry_delay(1, cap=3600, rand=lambda: 0.0) == 0.75
    assert retry_delay(1, cap=3600, rand=lambda: 1.0) == 1.25
    assert retry_delay(1, cap=3600, retry_after=42.0, rand=lambda: 1.0) == 42.0
    assert retry_delay(9, cap=60, rand=lambda: 0.5) == 60.0
