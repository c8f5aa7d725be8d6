"""What the tests share, besides the fixtures of tests/conftest.py and the HTTP fakes of
tests/fakes/. A test module imports from here (or from tests.fakes), never from another test
module nor from conftest.py (tests/test_layout.py checks it).

- samples.py: ``SAMPLES``, ``sample(name)``, ``signed(body)`` and the test secrets.
- app.py: the test routes.yaml, ``bridge_environ(dir)``, ``make_app(dir, **env)``,
  ``close_app(app)``, ``bridge(app)`` (the store, dispatcher… an app holds).
- auth.py: the admin ``TOKEN``, ``log_in(client)``, ``AdminAuth`` (the ``auth`` fixture).
- cli.py: ``BridgeRunner`` (the ``runner`` fixture): the ``bridge`` command in-process.
- clock.py: ``Clock``, a time that moves only when the test moves it.
- dispatcher.py: ``DispatcherHarness``: store + routes + GitHub client in a Dispatcher.
- asc.py: an App Store Connect client and environment pointing at the fake.
- servers.py: ``Server`` and ``Worker`` (real ``bridge serve`` and ``bridge worker``
  processes), ``process_env``, ``free_port``, ``closed_port_url``.
- postgres.py: ``PostgresServer``, a real PostgreSQL in a temporary folder.
"""
