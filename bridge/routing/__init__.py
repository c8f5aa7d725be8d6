"""routes.yaml: the document (line numbers, ``${VAR}``), its JSON schema, the checks, loading it
into the typed model, matching an event to routes, and the sandboxed template environment."""
