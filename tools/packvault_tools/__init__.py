"""Packvault's tooling, apart from the Lambda layer (no function imports it): the `packvault` operator CLI, a
buyer's API client, and the local stack's state file."""
