"""The way in: ``POST /webhooks/<source>`` (verify, parse, match, store, 202) and the one
intake path that webhooks and recovered events share."""
