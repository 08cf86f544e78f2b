"""Scheduled (EventBridge Scheduler, every minute): expire unpaid quotes, release their supply, and settle
payments found for them on chain, at Stripe or at an Open Payments wallet (opened, or recorded as REFUND_DUE).
Stops before its timeout."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packvault.chain.rpc import SolanaRpc
from packvault.core.log import logger
from packvault.core.secrets_store import secret
from packvault.edge import sweeping as expiry
from packvault.edge.runtime import configure
from packvault.fairness import anchoring
from packvault.rails.card import stripe_api as stripe_checkout
from packvault.rails.open_payments import checkout as open_payments_checkout

settings = configure()
rpc = SolanaRpc(settings.solana_rpc_urls) if settings.solana_rpc_urls else None
cards = stripe_checkout.from_settings(settings)
wallets = open_payments_checkout.from_settings(settings)
anchor_key = anchoring.signing_key_from(secret(settings.record_anchor_key, settings.record_anchor_key_parameter))
metrics = Metrics(namespace="Packvault")

_METRICS = {"expired": "ExpiredOpenings", "released_units": "ReleasedUnits", "late_payments": "LatePaymentsFound",
            "refunds_due": "RefundsDue", "opened": "OpenedBySweep", "periods_anchored": "RecordPeriodsAnchored",
            "odds_drift": "OddsDrift"}


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    report = expiry.sweep(settings, rpc, context.get_remaining_time_in_millis, cards=cards, wallets=wallets,
                          anchor_key=anchor_key)
    for field, name in _METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=getattr(report, field))
    logger.info("expiry sweep", extra=report.as_dict())
    return report.as_dict()
