"""The edge: everything that knows HTTP or chooses among rails and products. The API Gateway adapter and error
mapping (http), sign-in and tokens (auth), rate limits (ratelimit), the operators' API (admin), GraphQL (graphql),
which rail and product a purchase goes to (purchasing), the sweep put together (sweeping), cold-start wiring
(runtime). May import every package; only functions (and tools) import it."""

from __future__ import annotations

__all__ = ["admin", "auth", "graphql", "http", "purchasing", "ratelimit", "runtime", "sweeping"]
