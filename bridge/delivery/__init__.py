"""The way out: the dispatcher (claim, attempt, retry, outage breaker), the one delivery
context every rendering sees, request rendering, and the GitHub client."""
