"""Which backend a ``DATABASE_URL`` names, without importing either backend's driver."""

from __future__ import annotations


def is_postgres_url(url: str) -> bool:
    """``postgres://…`` (as Heroku and Render set it) or ``postgresql://…``."""
    return url.partition(":")[0] in {"postgres", "postgresql"}
