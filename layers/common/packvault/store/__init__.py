"""Data access: the only module that talks to DynamoDB.

One table (single-table design) keyed by `pk`/`sk`; the key prefixes say what a row is:

    PACK#<pack_id>      PACK              a pack: name, status, prices, layout, supply counters, odds version
    PACK#<pack_id>      ITEM#<item_id>    an item of the pack: tier, weight, stock, fmv, nft_id, metadata
    PACK#<pack_id>      ODDS#<000001>     an odds version: the canonical odds table (gzip JSON) and its hash
    PACK#<pack_id>      STOCKCHAIN#<seq>  a link of the pack's stock history chain (what quotes commit to)
    PACKSUPPLY#<pack_id>#<nn>  SUPPLY     a shard of a hot pack's supply counters (shard 0 is the pack row)
    NONCE#<nonce>       NONCE             a sign-in nonce: wallet, exact message, expiry, consumed_at
    ACCOUNT#<id>        ACCOUNT           a buyer account: status, identity count (store/accounts.py)
    IDENTITY#<kind>#<value>  IDENTITY     the account a wallet, passkey or email belongs to (unique)
    CHALLENGE#<challenge>  CHALLENGE      a passkey ceremony's challenge, used once
    EMAILCODE#<email>   CODE              the newest email sign-in code (hashed), its attempts and expiry
    ENTITLEMENT#<id>    PRODUCT           an entitlement product: units, prices, status (store/entitlements.py)
    HOLDING#<id>        HOLDING           a buyer's paid entitlement: units remaining (id = the opening's)
    CONSUMPTION#<client>#<order_ref>  CONSUMPTION  a partner's consumption of units, once per order_ref
    SERVICECLIENT#<id>  CLIENT            a partner service: hashed secrets, scopes, active
    WEBHOOKENDPOINT#<id>  ENDPOINT        a partner's webhook endpoint (store/notifications.py)
    DELIVERY#<receiver>#<notification>  DELIVERY  one notification to one receiver, its attempts
    NOTIFYPREFS#<account>  PREFS          a buyer's email receipt preference
    OPENING#<id>        OPENING           an opening: quote, status, seeds, items once opened
    PAYMENT#<rail>#<id> PAYMENT           a claimed payment (signature, PaymentIntent...) -> the opening it paid
    WEBHOOK#<rail>#<id> WEBHOOK           an outside service's event, processed (written with its effect)
    REFUNDED#<rail>#<id> REFUNDED         a payment refunded before it settled anything: it can open nothing
    OPFLOW#<opening_id> OPEN_PAYMENTS     an Open Payments flow's resumable state (grants, nonces; TTL)
    WALLET#<wallet>     VAULT#<time>#<id> a vault item the wallet owns
    WALLET#<wallet>     VAULT_TOTAL       the wallet's item count and total fmv (micro-dollars)
    IDEMPOTENCY#<wallet>#<operation>#<key>  IDEMPOTENCY  a remembered request and its answer
    RATE#<scope>#<identity>#<minute>  RATE  requests counted for a per-identity rate limit (TTL)
    TOPUP#<item_id>     TOPUP             a game-credit item on sale, with its game's user-data schema
    ORDER#<order_id>    ORDER             a top-up order: payment, user data, status, delivery
    ORDERNO#<number>    ORDER_NUMBER      an order number, taken once
    RECORD#<hour>#<nn>  <opened_at>#<id>  the public record's leaf of an opened pack (fairness v2)
    RECORD_SEALS        <hour>            an hour's sealed Merkle root over its leaves
    <entity pk>         EVENT#<time>#<id> an append-only event about that entity

GSI1 (`gsi1pk`/`gsi1sk`) lists rows of one kind: all packs (`PACKS`/<pack_id>), a wallet's openings
(`WALLET#<wallet>#OPENINGS`/<created_at>#<id>), an account's identities (`ACCOUNT#<id>#IDENTITIES`/<kind>#<value>).
ExpiryIndex (`expiry_shard`/`expires_at`, sparse: only
QUOTED openings carry it) is where the expiry sweep finds quotes that are due. GSI2 (`gsi2pk`/`gsi2sk`) lists
a pack's openings for operators (`PACK#<pack_id>#OPENINGS`/<created_at>#<id>, a summary projected).
template.yaml is the source of truth for the table; these models must agree with it (a test checks).
"""

from __future__ import annotations

from packvault.store.accounts import (  # noqa: F401
    ACTIVE,
    CLOSED,
    IDENTITY_KINDS,
    AccountRecord,
    ChallengeRecord,
    EmailCodeRecord,
    IdentityRecord,
    IdentityTaken,
    account_identities,
    account_pk,
    close_account,
    consume_challenge,
    create_account,
    get_account,
    get_email_code,
    get_identity,
    has_buyer_history,
    link_identity,
    new_identity,
    put_challenge,
    put_email_code,
    record_passkey_use,
    spend_code_attempt,
    unlink_identity,
)
from packvault.store.balance_openings import BalanceOpenFailed, open_from_balance  # noqa: F401
from packvault.store.catalog import (  # noqa: F401
    BUNDLE_SORT_KEY,
    ITEM_PREFIX,
    ODDS_PREFIX,
    PACK_SORT_KEY,
    PACKS_LIST_KEY,
    BundleRecord,
    CountedChange,
    CounterConflict,
    OddsVersionRecord,
    PackItemRecord,
    PackRecord,
    StockHeadRecord,
    StockMove,
    bundle_pk,
    count_commitments,
    get_bundle,
    get_pack,
    get_pack_item,
    item_definitions,
    latest_odds_version,
    list_bundles,
    list_packs,
    lock_commitments,
    odds_table,
    open_commitments,
    pack_items,
    pack_items_by_id,
    pack_pk,
    put_bundle,
    put_item_definitions,
    put_odds_version,
    put_pack,
    put_pack_item,
    retire_pack_item,
    stock_chain,
    stock_head,
    stock_heads,
    unlock_commitments,
)
from packvault.store.entitlements import (  # noqa: F401
    HOLDING_SHARD,
    ConsumeFailed,
    ConsumptionRecord,
    EntitlementProductRecord,
    HoldingRecord,
    ServiceClientRecord,
    account_holdings,
    consume,
    due_holdings,
    entitlement_pk,
    expire_holding,
    get_consumption,
    get_entitlement,
    get_holding,
    get_service_client,
    holding_pk,
    holding_writes,
    holdings_key,
    list_entitlements,
    list_service_clients,
    put_entitlement,
    put_service_client,
    refund_holding,
    restore,
    service_client_pk,
)
from packvault.store.expiry import (  # noqa: F401
    QUOTED_SHARD,
    WATCH_SHARD,
    due_openings,
    expire_opening,
    expiry_shard_key,
    postpone_expiry,
    re_reserve,
    reschedule_watch,
)
from packvault.store.ledger import (  # noqa: F401
    CreditBalanceRecord,
    Entry,
    LedgerEntryRecord,
    PostingRecord,
    UnbalancedPosting,
    account_entries,
    all_entries,
    balance_pk,
    credit_balance,
    get_posting,
    grant_credits,
    platform_account,
    post,
    wallet_account,
)
from packvault.store.nonces import (  # noqa: F401
    NONCE_CLEANUP_SECONDS,
    NONCE_SORT_KEY,
    NonceRecord,
    consume_nonce,
    put_nonce,
)
from packvault.store.notifications import (  # noqa: F401
    DeliveryRecord,
    NotificationPrefsRecord,
    WebhookEndpointRecord,
    claim_attempt,
    create_delivery,
    deliveries_key,
    delivery_pk,
    email_receipts_wanted,
    endpoint_pk,
    get_delivery,
    get_endpoint,
    list_endpoints,
    put_endpoint,
    receiver_deliveries,
    record_attempt,
    reset_delivery,
    set_email_receipts,
)
from packvault.store.open_payments import (  # noqa: F401
    OpenPaymentsFlowRecord,
    attach_open_payments,
    claim_finish,
    get_flow,
    new_flow,
    record_flow_outcome,
    refresh_incoming_token,
    release_finish,
)
from packvault.store.openings import (  # noqa: F401
    MAX_BUNDLE,
    OPENING_SORT_KEY,
    OpenFailed,
    OpeningRecord,
    ReservationFailed,
    attach_checkout,
    bundle_limit,
    claim_row,
    fulfil_product,
    fulfil_topup,
    get_opening,
    get_openings,
    max_quantity,
    new_vault_item,
    open_actions,
    open_opening,
    opening_keys,
    opening_pk,
    pack_openings,
    pack_openings_key,
    reference_fields,
    release_reservation,
    reserve_quote,
    units_of,
    wallet_openings,
    wallet_openings_key,
)
from packvault.store.orders import (  # noqa: F401
    FULFILMENT_SHARD,
    ORDER_SORT_KEY,
    TOPUP_SORT_KEY,
    OrderConflict,
    OrderRecord,
    TopupItemRecord,
    create_order,
    due_orders,
    get_order,
    get_topup_item,
    leave_fulfilment_index,
    list_topup_items,
    mark_order_refunded,
    order_pk,
    order_writes,
    orders_refund_due,
    postpone_check,
    put_topup_item,
    topup_pk,
    transition,
    wallet_orders,
    wallet_orders_key,
)
from packvault.store.payments import (  # noqa: F401
    EARLY_REFUND_SORT_KEY,
    PAYMENT_SORT_KEY,
    PROCESSED_EVENT_TTL_SECONDS,
    WEBHOOK_SORT_KEY,
    EarlyRefundRecord,
    PaymentClaimRecord,
    ProcessedEventRecord,
    early_refund,
    early_refund_pk,
    get_payment_claim,
    get_processed_event,
    mark_processed,
    payment_pk,
    processed_event,
    record_early_refund,
    record_processed,
)
from packvault.store.ratelimits import RateCounterRecord  # noqa: F401
from packvault.store.ratelimits import take as take_request  # noqa: F401
from packvault.store.records import (  # noqa: F401
    HourCounts,
    RecordLeafRecord,
    RecordSealRecord,
    SealLink,
    get_seal,
    on_ending,
    pack_stats,
    pack_stats_rows,
    pack_summaries,
    period_leaves,
    put_seal,
    record_head,
    set_anchor,
    unanchored_seals,
)
from packvault.store.records import leaf_row as record_leaf_row  # noqa: F401
from packvault.store.records import period_of as record_period  # noqa: F401
from packvault.store.refunds import (  # noqa: F401
    REFUNDS_PK,
    RefundIndexRecord,
    mark_refund_due,
    mark_refunded,
    note_refund_request,
    refunds_due,
    reverse_topup,
    revoke_opening,
)
from packvault.store.seeds import (  # noqa: F401
    SeedPairRecord,
    create_pair,
    current_pair,
    revealed_pair,
    rotate_pair,
    seeds_pk,
    use_nonce,
)
from packvault.store.supply import (  # noqa: F401
    MAX_SUPPLY_SHARDS,
    ShardCounts,
    SnapshotBusy,
    SupplyCounts,
    SupplyShardRecord,
    is_sharded,
    put_sharded_pack,
    shard_count,
    shard_rows,
    supply_counts,
)
from packvault.store.supply import snapshot as supply_snapshot  # noqa: F401
from packvault.store.table import (  # noqa: F401
    CANCELLED,
    EVENT_PREFIX,
    BadCursor,
    ByKindIndex,
    EventRecord,
    ExpiryIndex,
    Page,
    Row,
    TableMeta,
    bind,
    connection,
    decode_cursor,
    encode_cursor,
    events_after,
    events_of,
    is_condition_failure,
    new_event,
    newest_first,
    read_cursor,
    record_event,
    utc_now_iso,
)
from packvault.store.wallets import (  # noqa: F401
    IDEMPOTENCY_SORT_KEY,
    IDEMPOTENCY_TTL_SECONDS,
    QUOTES_SORT_KEY,
    VAULT_PREFIX,
    VAULT_TOTAL_SORT_KEY,
    IdempotencyRecord,
    VaultItemRecord,
    VaultTotalRecord,
    WalletPackCountRecord,
    WalletQuotesRecord,
    count_quote,
    get_idempotency,
    get_vault_item,
    idempotency_pk,
    new_idempotency,
    open_quote_count,
    sell_back,
    vault_total,
    wallet_pack_count,
    wallet_pk,
    wallet_vault,
)
