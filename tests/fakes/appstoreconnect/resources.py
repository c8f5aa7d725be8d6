"""Generic resources: ``GET /v1/{type}/{id}``, its related documents and linkages, served
from documents the test adds (or the ``api-*.json`` samples)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from werkzeug import Response

from tests.fakes.appstoreconnect.errors import error, not_found, respond
from tests.fakes.appstoreconnect.model import SAMPLE_BUILD_ID, SAMPLES_DIR, AscState
from tests.fakes.http import RecordedRequest


class ResourcesPart(AscState):
    """Documents served at ``GET /v1/{type}/{id}`` and below."""

    def add_resource(
        self, document: Mapping[str, Any], *, related: Mapping[str, Any] | None = None
    ) -> None:
        """Serve ``document`` (``{"data": {"type", "id", …}}``) at ``GET /v1/{type}/{id}``;
        ``related`` maps a relationship name to the document served at
        ``GET /v1/{type}/{id}/{name}`` (None: ``{"data": null}``)."""
        doc: dict[str, Any] = json.loads(json.dumps(document))
        data = doc.get("data")
        if not isinstance(data, dict) or not data.get("type") or not data.get("id"):
            raise ValueError("a resource document needs data.type and data.id")
        key = (str(data["type"]), str(data["id"]))
        with self._lock:
            self._resources[key] = doc
            for name, rel_doc in (related or {}).items():
                stored = {"data": None} if rel_doc is None else json.loads(json.dumps(rel_doc))
                self._related[(*key, name)] = stored

    def add_listing(
        self, path: str, document: Mapping[str, Any], *, query: Mapping[str, str] | None = None
    ) -> None:
        """Serve ``document`` at GET ``path`` (e.g. ``/v1/builds``) to requests whose query
        has every parameter of ``query`` with that value (Apple's ``filter[…]``); other
        requests to ``path`` get an empty list. Checked before the resource routes."""
        doc: dict[str, Any] = json.loads(json.dumps(document))
        with self._lock:
            self._listings.setdefault(path, []).append((dict(query or {}), doc))

    def _get_listing(self, record: RecordedRequest) -> Response | None:
        """The listing ``add_listing`` registered for this GET, if any (see there)."""
        with self._lock:
            listings = list(self._listings.get(record.path, ()))
        if not listings or record.method != "GET":
            return None
        for wanted, doc in listings:
            if all(record.args.get(k) == v for k, v in wanted.items()):
                return respond(200, copy.deepcopy(doc))
        return respond(200, {"data": [], "links": {"self": self.url + record.path}})

    def load_samples(self, directory: Path = SAMPLES_DIR) -> None:
        """Serve the three ``api-*.json`` samples; the appStoreVersions one has a related
        ``build`` (id :data:`SAMPLE_BUILD_ID`, also served at ``/v1/builds/{id}``)."""
        build = {
            "data": {
                "type": "builds",
                "id": SAMPLE_BUILD_ID,
                "attributes": {
                    "version": "42",
                    "uploadedDate": "2025-12-15T18:40:11-08:00",
                    "processingState": "VALID",
                    "minOsVersion": "17.0",
                    "expired": False,
                },
            }
        }
        self.add_resource(build)
        for path in sorted(directory.glob("api-*.json")):
            document = json.loads(path.read_text())
            extra = {"build": build} if document["data"]["type"] == "appStoreVersions" else None
            self.add_resource(document, related=extra)

    def _get_resource(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        key = (found["type"], found["id"])
        with self._lock:
            doc = copy.deepcopy(self._resources.get(key))
        if doc is None:
            return not_found(*key)
        return respond(200, self._rewrite_links(doc, record.path))

    def _related_document(
        self, found: re.Match[str]
    ) -> tuple[tuple[str, str, str], dict[str, Any] | Response]:
        """The document of ``/v1/{type}/{id}/{rel}`` (served whole or as a linkage), or the
        404 Apple answers for an unknown resource or relationship."""
        key = (found["type"], found["id"], found["rel"])
        with self._lock:
            known = key[:2] in self._resources
            doc = copy.deepcopy(self._related.get(key))
        if not known:
            return key, not_found(*key[:2])
        if doc is None:
            return key, error(404, detail=f"The relationship '{key[2]}' does not exist.")
        return key, doc

    def _get_related(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        _, doc = self._related_document(found)
        if isinstance(doc, Response):
            return doc
        return respond(200, self._rewrite_links(doc, record.path))

    def _get_linkage(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        key, doc = self._related_document(found)
        if isinstance(doc, Response):
            return doc
        data = doc.get("data")
        if isinstance(data, list):
            linkage: Any = [{"type": d["type"], "id": d["id"]} for d in data]
        elif isinstance(data, dict):
            linkage = {"type": data["type"], "id": data["id"]}
        else:
            linkage = None
        related = f"{self.url}/v1/{key[0]}/{key[1]}/{key[2]}"
        return respond(
            200, {"data": linkage, "links": {"self": self.url + record.path, "related": related}}
        )

    def _rewrite_links(self, doc: dict[str, Any], path: str) -> dict[str, Any]:
        data = doc.get("data")
        items = data if isinstance(data, list) else [data]
        for item in [*items, *doc.get("included", [])]:
            if isinstance(item, dict) and item.get("type") and item.get("id"):
                item.setdefault("links", {})["self"] = f"{self.url}/v1/{item['type']}/{item['id']}"
        doc.setdefault("links", {})["self"] = self.url + path
        return doc
