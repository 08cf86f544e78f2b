"""What every capability stands on: the error catalogue (errors), exact money (money), times, settings, keys,
the request context written into events (context), the service logger (log), secrets from SSM (secrets_store), the
outbound HTTP guard for hosts a buyer chooses (outbound), and the Settlement type every rail hands the open path
(settlement). Imports nothing else of packvault."""

from __future__ import annotations

__all__ = ["context", "errors", "keys", "log", "money", "outbound", "secrets_store", "settings", "settlement", "times"]
