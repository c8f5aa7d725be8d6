"""Apple's error documents (``{"errors": [{"id", "status", "code", "title", "detail",
"source"?}]}``) and the helpers the handlers raise them with."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from werkzeug import Response

from tests.fakes.http import RecordedRequest, json_response

# status -> (code, title, detail) of Apple's error document
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "PARAMETER_ERROR.INVALID",
        "A parameter has an invalid value",
        "A parameter of the request has an invalid value.",
    ),
    401: (
        "NOT_AUTHORIZED",
        "Authentication credentials are missing or invalid.",
        "Provide a properly configured and signed bearer token, and make sure that it has not "
        "expired. Learn more about Generating Tokens for API Requests "
        "https://developer.apple.com/go/?id=api-generating-tokens",
    ),
    403: (
        "FORBIDDEN_ERROR",
        "This request is forbidden for security reasons",
        "The API key in use does not allow this request",
    ),
    404: (
        "NOT_FOUND",
        "The specified resource does not exist",
        "The path provided does not match a defined resource type.",
    ),
    405: (
        "METHOD_NOT_ALLOWED",
        "The request method is not valid for the resource path.",
        "The request method is not valid for the resource path.",
    ),
    409: (
        "ENTITY_ERROR",
        "There is a problem with the request entity",
        "The request entity conflicts with the resource.",
    ),
    422: (
        "ENTITY_ERROR",
        "There is a problem with the request entity",
        "The request entity is invalid.",
    ),
    429: (
        "RATE_LIMIT_EXCEEDED",
        "The request rate limit has been reached.",
        "We've received too many requests for this API. Please wait and try again or slow "
        "down your request rate.",
    ),
    500: (
        "UNEXPECTED_ERROR",
        "An unexpected error occurred.",
        "An unexpected error occurred on the server side. If this issue continues, contact us "
        "at https://developer.apple.com/contact/.",
    ),
}


class Problem(Exception):
    """An error answer raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def apple_error(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Apple's error document for ``status`` (defaults per status, e.g. 404 NOT_FOUND)."""
    phrase = HTTPStatus(status).phrase
    default = _ERRORS.get(status, (HTTPStatus(status).name, phrase, phrase + "."))
    entry: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": str(status),
        "code": code or default[0],
        "title": title or default[1],
        "detail": detail or default[2],
    }
    if source:
        entry["source"] = dict(source)
    return {"errors": [entry]}


def error(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    source: Mapping[str, str] | None = None,
) -> Response:
    return respond(
        status, apple_error(status, code=code, title=title, detail=detail, source=source)
    )


def respond(status: int, body: Any = None) -> Response:
    """``body`` as JSON (dict, list), as is (str, bytes), or Apple's error for ≥ 400 (None)."""
    if body is None and status >= 400:
        body = apple_error(status)
    return json_response(status, body)


def entity_error(status: int, sub_code: str, pointer: str, problem: str) -> Response:
    """A 409/422 ``ENTITY_ERROR.<sub_code>`` about the member at ``pointer``."""
    return error(
        status,
        code=f"ENTITY_ERROR.{sub_code}",
        detail=f"{pointer.rsplit('/', 1)[-1] or 'body'} {problem}",
        source={"pointer": pointer},
    )


def parameter_error(name: str, detail: str) -> Response:
    return error(400, detail=detail, source={"parameter": name})


def not_found(type_: str, id_: str) -> Response:
    return error(404, detail=f"There is no resource of type '{type_}' with id '{id_}'")


def request_data(record: RecordedRequest, type_: str) -> dict[str, Any]:
    """``data`` of a JSON:API request body of type ``type_``, or an Apple error."""
    body = record.json
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise Problem(
            error(
                422,
                code="ENTITY_UNPROCESSABLE",
                title="The request entity is malformed",
                detail="The body must be a JSON object with a 'data' object.",
            )
        )
    if data.get("type") != type_:
        raise Problem(
            error(
                409,
                code="ENTITY_ERROR.TYPE.INVALID",
                detail=f"The type {data.get('type')!r} is not {type_!r}.",
                source={"pointer": "/data/type"},
            )
        )
    return data


def related_id(data: Mapping[str, Any], name: str, type_: str) -> str:
    relationship = (data.get("relationships") or {}).get(name)
    linkage = relationship.get("data") if isinstance(relationship, dict) else None
    pointer = f"/data/relationships/{name}"
    if not isinstance(linkage, dict) or not linkage.get("id"):
        raise Problem(entity_error(422, "RELATIONSHIP.REQUIRED", pointer, "is required"))
    if linkage.get("type") != type_:
        raise Problem(
            entity_error(409, "RELATIONSHIP.INVALID", pointer, f"must be of type {type_}")
        )
    return str(linkage["id"])
