"""routes.yaml: the document (line numbers, ``${VAR}``), its JSON schema, the typed model,
the checks, matching an event to routes, and the sandboxed template environment."""
