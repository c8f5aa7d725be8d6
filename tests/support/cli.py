"""The ``bridge`` command run in-process through click's runner (the ``runner`` fixture)."""

from __future__ import annotations

from collections.abc import Mapping

from click.testing import CliRunner, Result

from bridge.cli import cli


class BridgeRunner:
    """``runner.invoke("events", "--json")``: the ``bridge`` command in the test's
    environment (``env`` adds or overrides variables, None unsets one). Exceptions
    propagate unless ``catch_exceptions``: a crash fails the test with its traceback."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)

    def invoke(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        catch_exceptions: bool = False,
    ) -> Result:
        return CliRunner().invoke(
            cli,
            list(args),
            env={**self.environ, **(env or {})},
            input=input,
            catch_exceptions=catch_exceptions,
        )
