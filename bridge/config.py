"""Settings from the environment (12-factor), read once into one typed, frozen object.

Nothing here runs at import: :func:`Settings.from_env` is called by ``create_app`` and the CLI.
The variables are the contract in docs/architecture.md ("Contract: environment"), plus
``BRIDGE_*`` knobs with safe defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bridge.errors import ConfigError
from bridge.github_limits import DEFAULT_PER_HOUR, DEFAULT_PER_MINUTE, read_pacing

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|kib|mb|mib)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
DEFAULT_THREADS = 4  # gunicorn threads per worker
DEFAULT_ROUTES = "routes.yaml"  # BRIDGE_ROUTES, relative to the working folder
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_duration(text: str, *, name: str) -> float:
    """``"1.5s"``, ``"250ms"``, ``"30m"``, ``"24h"``, ``"7d"`` → seconds.

    A unit is required: a bare ``30`` once meant 30 seconds, and ``prune --older-than 30``
    then deleted the whole delivery log. Raises ConfigError saying what to write instead."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{name}={text!r} is not a duration (e.g. 30s, 15m, 24h, 7d)")
    number, unit = m.group(1), m.group(2)
    if unit is None:
        raise ConfigError(
            f"{name}={text!r} needs a unit: write {number}s, {number}m, {number}h or {number}d"
        )
    return float(number) * _UNIT_SECONDS[unit]


def parse_size(text: str, *, name: str) -> int:
    """``"1048576"``, ``"512KiB"``, ``"1MiB"`` → bytes. Raises ConfigError."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"{name}={text!r} is not a size in bytes (e.g. 1048576, 512KiB, 1MiB)")
    return int(m.group(1)) * _UNIT_BYTES[(m.group(2) or "b").lower()]


def parse_bool(text: str, *, name: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={text!r} is not a boolean (use 1/0, true/false, on/off)")


def _positive_int(text: str, *, name: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r} must be a positive integer")
    return int(text)


def default_database_url() -> str:
    return "sqlite:///" + str(Path.cwd() / "bridge.db")


@dataclass(frozen=True, slots=True)
class Settings:
    routes_path: str = DEFAULT_ROUTES
    database_url: str = field(default_factory=default_database_url)
    github_api_url: str = "https://api.github.com"
    github_token: str | None = field(default=None, repr=False)
    github_app_id: str | None = None
    github_app_private_key: str | None = field(default=None, repr=False)
    github_app_installation_id: int | None = None
    github_timeout: float = 10.0
    # Dispatches per credential, paced below GitHub's secondary limits (bridge.github_limits).
    github_per_minute: int = DEFAULT_PER_MINUTE
    github_per_hour: int = DEFAULT_PER_HOUR
    admin_token: str | None = field(default=None, repr=False)
    # Bearer token for /metrics alone (a scraper need not hold the admin token).
    metrics_token: str | None = field(default=None, repr=False)
    # The web server (bridge.gunicorn_conf): HOST, PORT, WEB_CONCURRENCY, GUNICORN_THREADS.
    host: str = "0.0.0.0"  # noqa: S104  (a platform's router reaches the dyno from outside)
    port: int = 8000
    web_concurrency: int = 2
    threads: int = DEFAULT_THREADS
    dry_run: bool = False
    # Run the outbox worker inside each web process (off when a separate `bridge worker` runs).
    run_dispatcher: bool = True
    max_body_bytes: int = 1024 * 1024
    # The time a client has to send a whole request (bridge.gunicorn_worker): then 408.
    read_timeout: float = 10.0
    # Proxies in front that append to X-Forwarded-For (Heroku's or Render's router: 1). 0: the
    # peer's address is the client's (bridge.app wraps the app in Werkzeug's ProxyFix).
    proxy_hops: int = 0
    retry_horizon: float = 24 * 3600.0
    retry_max_delay: float = 3600.0
    lease_seconds: float = 60.0
    poll_interval: float = 2.0
    dispatch_concurrency: int = 4
    # PostgreSQL connections per process: gunicorn threads + dispatcher threads + 2 spare.
    db_pool_size: int = 10
    # Finished events older than this are pruned automatically (None: kept until `bridge prune`).
    retention: float | None = None
    # Events no route matched are pruned sooner (None: as other events). They dispatch nothing;
    # kept this long they stay visible in the log and `bridge events`.
    unrouted_retention: float | None = 7 * 86400.0
    # Log a warning (hourly) while the database takes more than this (None: never).
    db_size_warning: int | None = 800 * 1024 * 1024
    # App Store Connect API key (enrichment, `bridge asc`, reconcile):
    # docs/protocols.md, "App Store Connect API token".
    asc_key_id: str | None = None
    asc_issuer_id: str | None = None
    asc_private_key: str | None = field(default=None, repr=False)
    # Where the key came from, for messages about it: ASC_PRIVATE_KEY or ASC_PRIVATE_KEY_PATH.
    asc_private_key_variable: str = "ASC_PRIVATE_KEY"
    asc_api_url: str = "https://api.appstoreconnect.apple.com"
    asc_timeout: float = 10.0
    # `bridge asc reconcile` run periodically by one process (None: off) over this window.
    reconcile_interval: float | None = None
    reconcile_window: float = 24 * 3600.0
    # Where people reach this bridge (https://bridge.example.com): chat messages and alerts
    # link to the delivery log under it. None: messages carry no such link.
    public_url: str | None = None
    notify_timeout: float = 10.0  # chat and HTTP targets

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment. Raises ConfigError naming the variable that is wrong (never
        its value when it is a secret)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        text = {
            "routes_path": "BRIDGE_ROUTES",
            "database_url": "DATABASE_URL",
            "github_api_url": "GITHUB_API_URL",
            "github_token": "GITHUB_TOKEN",
            "github_app_id": "GITHUB_APP_ID",
            "github_app_private_key": "GITHUB_APP_PRIVATE_KEY",
            "admin_token": "BRIDGE_ADMIN_TOKEN",
            "metrics_token": "BRIDGE_METRICS_TOKEN",
            "asc_key_id": "ASC_KEY_ID",
            "asc_issuer_id": "ASC_ISSUER_ID",
            "asc_api_url": "ASC_API_URL",
            "public_url": "BRIDGE_PUBLIC_URL",
        }
        for attr, var in text.items():
            if env.get(var):
                values[attr] = env[var]
        if env.get("GITHUB_APP_INSTALLATION_ID"):
            values["github_app_installation_id"] = _positive_int(
                env["GITHUB_APP_INSTALLATION_ID"], name="GITHUB_APP_INSTALLATION_ID"
            )
        if env.get("HOST"):
            values["host"] = env["HOST"]
        for attr, var in (
            ("port", "PORT"),
            ("web_concurrency", "WEB_CONCURRENCY"),
            ("threads", "GUNICORN_THREADS"),
        ):
            if env.get(var):
                values[attr] = _positive_int(env[var], name=var)
        for attr, var in (("dry_run", "BRIDGE_DRY_RUN"), ("run_dispatcher", "BRIDGE_DISPATCHER")):
            if var in env:
                values[attr] = parse_bool(env[var], name=var)
        durations = {
            "github_timeout": "BRIDGE_GITHUB_TIMEOUT",
            "read_timeout": "BRIDGE_READ_TIMEOUT",
            "retry_horizon": "BRIDGE_RETRY_HORIZON",
            "retry_max_delay": "BRIDGE_RETRY_MAX_DELAY",
            "lease_seconds": "BRIDGE_LEASE",
            "poll_interval": "BRIDGE_POLL_INTERVAL",
            "asc_timeout": "BRIDGE_ASC_TIMEOUT",
            "notify_timeout": "BRIDGE_NOTIFY_TIMEOUT",
            "reconcile_interval": "BRIDGE_RECONCILE_INTERVAL",
            "reconcile_window": "BRIDGE_RECONCILE_WINDOW",
        }
        for attr, var in durations.items():
            if env.get(var):
                values[attr] = parse_duration(env[var], name=var)
        if env.get("BRIDGE_PROXY_HOPS"):
            hops = env["BRIDGE_PROXY_HOPS"].strip()
            if not (hops.isascii() and hops.isdigit()) or int(hops) > 5:
                raise ConfigError(f"BRIDGE_PROXY_HOPS={hops!r} must be 0 to 5 (1 on Heroku/Render)")
            values["proxy_hops"] = int(hops)
        if values.get("read_timeout", 1.0) <= 0:
            raise ConfigError("BRIDGE_READ_TIMEOUT must be more than 0 (e.g. 10s)")
        if env.get("BRIDGE_MAX_BODY"):
            values["max_body_bytes"] = parse_size(env["BRIDGE_MAX_BODY"], name="BRIDGE_MAX_BODY")
        if env.get("BRIDGE_DISPATCH_CONCURRENCY"):
            values["dispatch_concurrency"] = _positive_int(
                env["BRIDGE_DISPATCH_CONCURRENCY"], name="BRIDGE_DISPATCH_CONCURRENCY"
            )
        _read_storage(env, values)
        read_pacing(env, values)
        key = _asc_private_key(env)
        if key is not None:
            values["asc_private_key"] = key
            if env.get("ASC_PRIVATE_KEY_PATH"):
                path = env["ASC_PRIVATE_KEY_PATH"]
                values["asc_private_key_variable"] = f"the key at ASC_PRIVATE_KEY_PATH={path!r}"
        public = values.get("public_url")
        if public is not None:
            if not public.startswith(("https://", "http://")):
                raise ConfigError("BRIDGE_PUBLIC_URL must start with https:// or http://")
            values["public_url"] = public.rstrip("/")
        return cls(**values)

    def log_url(self, source: str, event_id: str) -> str | None:
        """The event's page in the delivery log, when BRIDGE_PUBLIC_URL is set."""
        if self.public_url is None:
            return None
        return f"{self.public_url}/events/{quote(source, safe='')}/{quote(event_id, safe='')}"

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        return replace(self, **overrides)

    @property
    def asc_missing(self) -> list[str]:
        """The App Store Connect API key variables still unset (empty: configured)."""
        wanted = (
            ("ASC_KEY_ID", self.asc_key_id),
            ("ASC_ISSUER_ID", self.asc_issuer_id),
            ("ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)", self.asc_private_key),
        )
        return [name for name, value in wanted if not value]

    @property
    def asc_missing_text(self) -> str:
        """``asc_missing`` as a sentence that reads "all of these": ``ASC_KEY_ID,
        ASC_ISSUER_ID and ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)``."""
        names = self.asc_missing
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)

    @property
    def github_configured(self) -> bool:
        return bool(self.github_token or (self.github_app_id and self.github_app_private_key))


def _read_storage(env: Mapping[str, str], values: dict[str, Any]) -> None:
    """The database's settings into ``values``: pool size (by default, what one process's
    threads need), retention, unrouted retention and the size warning. Raises ConfigError."""
    if env.get("BRIDGE_DB_POOL_SIZE"):
        values["db_pool_size"] = _positive_int(
            env["BRIDGE_DB_POOL_SIZE"], name="BRIDGE_DB_POOL_SIZE"
        )
    else:
        threads = values.get("threads", DEFAULT_THREADS)
        values["db_pool_size"] = threads + values.get("dispatch_concurrency", 4) + 2
    if env.get("BRIDGE_RETENTION"):
        values["retention"] = parse_duration(env["BRIDGE_RETENTION"], name="BRIDGE_RETENTION")
    unrouted = env.get("BRIDGE_UNROUTED_RETENTION", "").strip()
    if unrouted:
        off = unrouted.lower() in ("off", "0")
        name = "BRIDGE_UNROUTED_RETENTION"
        values["unrouted_retention"] = None if off else parse_duration(unrouted, name=name)
    warning = env.get("BRIDGE_DB_SIZE_WARNING", "").strip()
    if warning:
        off = warning.lower() in ("off", "0")
        name = "BRIDGE_DB_SIZE_WARNING"
        values["db_size_warning"] = None if off else parse_size(warning, name=name)


def _asc_private_key(env: Mapping[str, str]) -> str | None:
    """The .p8 key's PEM text, from ``ASC_PRIVATE_KEY`` (the content; ``\\n`` escapes as some
    dashboards store one-line values are turned back into newlines) or the file at
    ``ASC_PRIVATE_KEY_PATH``. Raises ConfigError naming the variable, never the key."""
    text, path = env.get("ASC_PRIVATE_KEY"), env.get("ASC_PRIVATE_KEY_PATH")
    if text and path:
        raise ConfigError("set ASC_PRIVATE_KEY or ASC_PRIVATE_KEY_PATH, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            message = f"ASC_PRIVATE_KEY_PATH={path!r}: cannot read the key: {reason}"
            raise ConfigError(message) from None
    if text and "\n" not in text and "\\n" in text:
        return text.replace("\\n", "\n")
    return text or None
