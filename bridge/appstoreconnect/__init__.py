"""The App Store Connect API: the client (ES256 team-key token), webhook management and the
delivery log, enrichment, App Review times, and catch-up after downtime (reconcile)."""
