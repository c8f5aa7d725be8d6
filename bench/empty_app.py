"""The stack's ceiling: a Flask app that answers bridge's webhook route 202 and does nothing
else, served by gunicorn with bridge's own configuration (bench/run.py measures it beside
bridge, so every figure can be read against what Flask + gunicorn can do on the machine)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

app = Flask("empty")


@app.post("/webhooks/ios")
def receive() -> tuple[Response, int]:
    request.get_data()
    return jsonify(status="accepted"), 202
