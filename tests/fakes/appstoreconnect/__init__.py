"""A small fake App Store Connect API on 127.0.0.1 for tests: real HTTP, no mocks.

It stands in for https://api.appstoreconnect.apple.com (use :attr:`FakeAppStoreConnect.url`
as ASC_API_URL) and records every request. It serves::

    GET    /v1/{type}/{id}                           -> documents added with add_resource()
    GET    /v1/{type}/{id}/{relationship}            -> their related documents
    GET    /v1/{type}/{id}/relationships/{rel}       -> the linkage ({"data": {type, id}})
    POST   /v1/webhooks                              -> 201 (422/409 on a bad body, 11th hook)
    GET    /v1/webhooks/{id}                         -> 200
    PATCH  /v1/webhooks/{id}                         -> 200
    DELETE /v1/webhooks/{id}                         -> 204
    GET    /v1/apps/{id}/webhooks                    -> 200, paginated (limit ≤ 200, cursor)
    GET    /v1/apps/{id}/relationships/webhooks      -> 200, linkages only
    GET    /v1/webhooks/{id}/deliveries              -> 200, filters, include=event, paginated
    GET    /v1/webhooks/{id}/relationships/deliveries-> 200, linkages only
    POST   /v1/webhookDeliveries                     -> 201 (redelivery of a delivery)
    POST   /v1/webhookPings                          -> 201 (adds a ping delivery)

Anything else is answered 404 (unknown path or resource) or 405 (known path, other method)
and also kept in :attr:`FakeAppStoreConnect.unserved`. Every error uses Apple's document
shape ``{"errors": [{"id", "status", "code", "title", "detail", "source"?}]}``.

Every request must carry ``Authorization: Bearer <jwt>`` signed with the fake's
:class:`AscKey` the way Apple checks it (docs/protocols.md, "App Store Connect API token"): header ``alg`` ES256, ``kid`` the
key id, ``typ`` JWT; a valid ES256 signature; ``iss`` the issuer id; ``aud``
``appstoreconnect-v1``; ``exp - iat`` at most 1200 s; not expired; ``iat`` at most 60 s ahead;
a ``scope``, when present, must name the request. A bad token gets Apple's 401
NOT_AUTHORIZED and the reason is appended to :attr:`FakeAppStoreConnect.auth_failures`.
:attr:`FakeAppStoreConnect.tokens` lists the distinct accepted tokens (to check reuse), and
``time_offset`` moves the fake's clock (to make a cached token look expired). Every answer
carries ``X-Rate-Limit: user-hour-lim:3600;user-hour-rem:<n>;``, ``n`` going down by one per
request; past ``rate_limit`` requests the fake answers 429 RATE_LIMIT_EXCEEDED.

Faults are queued with :meth:`FakeAppStoreConnect.enqueue` (status, headers, body, delay, path
regex, method). A queued reply answers the next matching request BEFORE the token is checked;
its body defaults to Apple's error document for the status. ``delay`` longer than the
client's timeout simulates a timeout. Requests run on their own threads, so a slow reply does
not hold up others.

Fixtures (tests/conftest.py): ``asc_key`` (a fresh EC P-256 key, session-wide) and
``fake_asc`` (a started fake checking tokens against ``asc_key``; the test fails if a handler
crashed). Without fixtures::

    key = generate_asc_key()
    with FakeAppStoreConnect(key) as fake:
        fake.load_samples()
        hook = fake.add_webhook("1234567890", url="https://bridge.example/hooks/ios")
        fake.add_delivery(hook, {"data": {...}}, state="FAILED")
        ...  # point ASC_API_URL=fake.url, ASC_KEY_ID=key.key_id, ASC_ISSUER_ID=key.issuer_id,
        ...  # ASC_PRIVATE_KEY=key.private_pem at the code under test

The parts: keys.py (keys and the token check), errors.py (Apple's error documents),
paging.py (query parameters, pagination), model.py (the data and its JSON), resources.py,
webhooks.py and deliveries.py (the handlers), server.py (routing, rate limit, recordings).
"""

from tests.fakes.appstoreconnect.errors import apple_error
from tests.fakes.appstoreconnect.keys import AUDIENCE, MAX_TOKEN_LIFETIME, AscKey, generate_asc_key
from tests.fakes.appstoreconnect.model import (
    DELIVERY_STATES,
    EVENT_TYPES,
    SAMPLE_BUILD_ID,
    SAMPLES_DIR,
)
from tests.fakes.appstoreconnect.paging import DEFAULT_LIMIT, MAX_LIMIT
from tests.fakes.appstoreconnect.server import FakeAppStoreConnect
from tests.fakes.appstoreconnect.webhooks import MAX_WEBHOOKS_PER_APP
from tests.fakes.http import RecordedRequest, Reply

__all__ = [
    "AUDIENCE",
    "DEFAULT_LIMIT",
    "DELIVERY_STATES",
    "EVENT_TYPES",
    "MAX_LIMIT",
    "MAX_TOKEN_LIFETIME",
    "MAX_WEBHOOKS_PER_APP",
    "SAMPLES_DIR",
    "SAMPLE_BUILD_ID",
    "AscKey",
    "FakeAppStoreConnect",
    "RecordedRequest",
    "Reply",
    "apple_error",
    "generate_asc_key",
]
