"""The Open Payments rail: the checkout, the finish redirect and the sweep's reconciliation (checkout), and the
signed GNAP / Open Payments client (client; needs the Open Payments layer for signing)."""

from __future__ import annotations

__all__ = ["checkout", "client"]
