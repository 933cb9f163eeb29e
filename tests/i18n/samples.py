"""Sample values for every reply template, each branch at least once: what the catalogue tests
render in both locales. Names (stores, products, people) are the only words not translated."""

from datetime import UTC, datetime
from types import SimpleNamespace as Obj
from typing import Any

from botstore.config import Config
from botstore.errors import BadArgument
from botstore.i18n import N_
from botstore.router import UsageError
from handlers import ROUTERS
from handlers.orders import buy

# Names a fan may read in either language: what the samples call things.
NAMES = (
    "Mei",
    "Tea House",
    "Book Corner",
    "Oolong",
    "Green Tea Fund",
    "Lucky",
    "Ads Inc",
    "Spring Sale",
    "Best teas",
    "Fresh leaves",
    "Repair",
    "Fixes things",
    "botstore",
    "access_token",
    "English",
    "x",
)

WHEN = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
AREAS = [(router.title, router.commands) for router in ROUTERS if router.commands]
COMMANDS = {command.name: command for _, commands in AREAS for command in commands}
BUY = next(command for command in COMMANDS.values() if command.handler is buy)
CONFIG = Config()

product = Obj(
    id=6,
    name="Oolong",
    price_fen=123450,
    description="Fresh leaves",
    image_url="",
    group_size=3,
    group_price_fen=9900,
    created_at=WHEN,
)
store = Obj(id=2, name="Tea House", cover_url="")
# A resale of Oolong in Book Corner, for the upkeep replies and the reseller's notice.
RESALE = Obj(
    product=Obj(id=9, name="Oolong", price_fen=120000),
    store=Obj(id=3, name="Book Corner"),
    supplier=product,
    supplier_store=store,
    on_sale=True,
)
WXPAY_ORDER = Obj(
    out_trade_no="T20261205",
    total_fen=1500,
    description="Oolong",
    transaction_id="4200000001",
    expires_at=WHEN,
)
# Every kind of ledger movement `history` describes, with and without what names it.
MOVEMENTS: list[tuple[str, int, dict[str, Any]]] = [
    ("topup", 100, {}),
    ("order_pay", -100, {"store": "Tea House", "order_id": 12}),
    ("order_refund", 100, {"order_id": 12}),
    ("order_release", 100, {"order_id": 12, "role": "supplier"}),
    ("order_release", 100, {"order_id": 12, "role": "affiliate"}),
    ("group_pay", -100, {"store": "Tea House", "group_id": 3}),
    ("group_refund", 100, {"group_id": 3}),
    ("merchant_pay", -100, {"name": "Tea House"}),
    ("partner_use", -100, {"name": "Repair"}),
    ("tip", -100, {"title": "Best teas"}),
    ("tip", 100, {"title": "Best teas"}),
    ("invest", -100, {"product": "Green Tea Fund"}),
    ("dividend", 100, {"product": "Green Tea Fund"}),
    ("maturity", 100, {"product": "Green Tea Fund"}),
    ("wxpay", -100, {"description": "Oolong"}),
    ("wxpay_refund", 100, {"description": "Oolong"}),
    ("store_withdraw", -100, {"store": "Tea House"}),
    ("store_withdraw", 100, {"store": "Tea House"}),
    *((kind, 100, {}) for kind in ("tip_fee", "order_pay", "group_refund", "ad_revenue")),
]
refusal = {"store_id": 2, "store_name": "Tea House", "amount_fen": 3000, "settled_fen": 2500}
order = Obj(
    id=12,
    qty=2,
    product_id=6,
    total_fen=20000,
    discount_fen=500,
    status="paid",
    group_id=None,
    affiliate_store_id=None,
)
coupon_amount = Obj(
    id=3,
    kind="amount",
    amount_off_fen=500,
    min_spend_fen=10000,
    percent_off=None,
    cap_fen=None,
    valid_to=WHEN,
)
coupon_percent = Obj(
    id=4,
    kind="percent",
    amount_off_fen=None,
    min_spend_fen=5000,
    percent_off=10,
    cap_fen=2000,
    valid_to=WHEN,
)
article = Obj(
    id=5, title="Best teas", digest="Fresh leaves", reads=10, tips_count=2, tips_total_fen=300
)
merchant = Obj(name="Lucky", code="x")
holding = Obj(
    id=8,
    principal_fen=100000,
    paid_fen=500,
    status="active",
    closed_at=None,
    next_due_at=WHEN,
    matures_at=WHEN,
    periods=12,
)
wealth_product = Obj(
    id=1,
    name="Green Tea Fund",
    rate_bps=350,
    term_days=90,
    interval_days=30,
    min_fen=100,
    per_fan_quota_fen=5000000,
)
group = Obj(id=9, joined=1, size=3, price_fen=9900, deadline_at=WHEN)
service = Obj(id=4, name="Repair", description="Fixes things")


def _usage(problem: str, **kw: Any) -> dict[str, Any]:
    error = UsageError(BUY, problem, **kw)
    return error.details


def _bad(name: str, reason: str, **values: Any) -> dict[str, Any]:
    return BadArgument(name, "1e3", reason, **values).details


SAMPLES: dict[str, list[dict[str, Any]]] = {
    "help.txt": [{"areas": AREAS}],
    "help_command.txt": [{"command": command} for command in COMMANDS.values()],
    "help_unknown.txt": [{"topic": "x"}],
    "language.txt": [{"changed": True}, {"changed": False}],
    "unknown_command.txt": [{"text": "x"}],
    "errors/usage.txt": [
        _usage("missing", param=BUY.params[0]),
        _usage("unexpected", words="x"),
        _usage("last", words="x"),
        _usage("invalid", param=BUY.params[1], reason=N_("a whole number from 1 to 999")),
    ],
    "errors/bad_argument.txt": [
        _bad("amount", N_("write the amount in plain digits, e.g. 1000 (no exponents)")),
        _bad("amount", N_("must be at most %(most)s yuan"), most="10,000,000"),
        _bad("stock", N_("a whole number from 0 to %(most)s"), most=9999),
        _bad("language", N_("botstore speaks Chinese and English")),
        _bad("amount", N_("not an amount in yuan, e.g. 12.5")),
        _bad("amount", N_("write it without a sign")),
        _bad("amount", N_("must be more than zero")),
        _bad("amount", N_("at most two decimals (fen)")),
        _bad("amount", N_("write the amount in plain digits, e.g. 1000 or 1,000")),
        _bad("amount", N_("commas go between groups of three digits, e.g. 1,000.50")),
        _bad("id", N_("an id is a number such as #12")),
        _bad("store name", N_("1 to %(most)s printable characters"), most=60),
        _bad("group size", N_("a whole number from 2 to %(most)s"), most=50),
    ],
    "_zone.txt": [{}],
    "_held.txt": [
        {"held": [Obj(fan_id=2, name="Mei", store="Tea House")]},
        {"held": [Obj(fan_id=2, name="Mei", store=None)]},
        {"held": [Obj(fan_id=2, name="Mei", store=None), Obj(fan_id=3, name="Li", store=None)]},
    ],
    "wallet/balance.txt": [
        {"balance_fen": 123450, "earnings": None},
        {"balance_fen": 0, "earnings": Obj(store=store, settled_fen=0, escrow_fen=2500)},
        {"balance_fen": 0, "earnings": Obj(store=store, settled_fen=2500, escrow_fen=0)},
    ],
    "wallet/topped_up.txt": [{"receipt": Obj(amount_fen=10000, balance_fen=123450)}],
    "wallet/withdrawn.txt": [
        {"withdrawal": Obj(store=store, amount_fen=2500, left_fen=100, balance_fen=123450)}
    ],
    "wallet/_movement.txt": [
        {"m": Obj(at=WHEN, kind=kind, amount_fen=amount, about=about)}
        for kind, amount, about in MOVEMENTS
    ],
    "wallet/history.txt": [
        {"history": Obj(wallet=[], store=None, store_movements=[])},
        {"history": Obj(wallet=[], store=store, store_movements=[])},
        {
            "history": Obj(
                wallet=[
                    Obj(at=WHEN, kind=kind, amount_fen=amount, about=about)
                    for kind, amount, about in MOVEMENTS
                ],
                store=store,
                store_movements=[Obj(at=WHEN, kind="order_release", amount_fen=100, about={})],
            )
        },
    ],
    "events/welcome.txt": [{}],
    "events/location.txt": [
        {"message": Obj(label="", latitude=31.2, longitude=121.5)},
        {"message": Obj(label="Tea House", latitude=31.2, longitude=121.5)},
    ],
    "errors/already_reselling.txt": [{"product_id": 6, "listing_id": 7}],
    "errors/withdrawal_refused.txt": [
        {**refusal, "reason": reason, "escrow_fen": escrow}
        for reason, escrow in (("too_much", 0), ("nothing", 2500), ("nothing", 0))
    ],
    "errors/wxpay_refused.txt": [
        {"reason": "unknown", "reference": "wx2026"},
        *(
            {"reason": reason, "order": WXPAY_ORDER}
            for reason in ("paid", "closed", "expired", "other_payer")
        ),
    ],
    "wxpay/paid.txt": [
        {"paid": Obj(order=WXPAY_ORDER, merchant=Obj(mchid="1900000109"), balance_fen=123450)}
    ],
    "errors/below_minimum.txt": [{"what": "Green Tea Fund", "minimum_fen": 100, "amount_fen": 50}],
    "errors/coupon_unfunded.txt": [{"coupon_id": 3, "discount_fen": 500, "product_id": 6}],
    "errors/deactivated.txt": [
        {"what": "store", "ident": 2, "name": "Tea House", "own": True},
        {"what": "merchant", "ident": "x", "name": "Lucky", "own": False},
        {"what": "store", "ident": 2, "name": "Tea House", "own": False},
        {"what": "product", "ident": 6, "name": "Oolong", "own": False},
        {"what": "partner service", "ident": 4, "name": "Repair", "own": False},
    ],
    "errors/domain_error.txt": [{}],
    "errors/expired_credential.txt": [{"what": "access_token"}],
    "errors/invalid_credential.txt": [{"what": "access_token"}],
    "errors/group_unavailable.txt": [
        {"group_id": 9, "reason": reason}
        for reason in ("joined", "full", "failed", "expired", "closed")
    ],
    "errors/insufficient_funds.txt": [
        {"amount_fen": 10000, "balance_fen": 500},
        {"amount_fen": 10000, "balance_fen": None},
    ],
    "errors/internal.txt": [{}],
    "errors/keyword_template.txt": [{"rule": Obj(id=3)}],
    "errors/limit_exceeded.txt": [
        {"what": "daily top-up", "limit_fen": 500000, "remaining_fen": 100}
    ],
    "errors/no_group_price.txt": [{"product_id": 6}],
    "errors/no_store.txt": [{}],
    "errors/not_found.txt": [
        {"what": what, "ident": 3}
        for what in (
            "ad",
            "article",
            "group",
            "merchant",
            "order",
            "partner service",
            "product",
            "store",
            "wealth product",
        )
    ],
    "errors/not_yours.txt": [
        {"what": "order", "ident": 3, "who": who}
        for who in ("buyer", "store owner", "supplying store's owner")
    ],
    "errors/out_of_stock.txt": [
        {"product_id": 6, "wanted": 3, "left": 0},
        {"product_id": 6, "wanted": 3, "left": 1},
    ],
    "errors/own_article.txt": [{"article_id": 5}],
    "errors/own_product.txt": [
        {"product_id": 6, "action": "buy"},
        {"product_id": 6, "action": "resell"},
        {"product_id": 6, "action": "group-buy"},
    ],
    "errors/price_refused.txt": [
        {"kind": "resale", "price_fen": 100, "limit_fen": 200, "product_id": 0},
        {"kind": "group", "price_fen": 300, "limit_fen": 200, "product_id": 0},
        {"kind": "below_supplier", "price_fen": 100, "limit_fen": 200, "product_id": 6},
        {"kind": "above_group", "price_fen": 100, "limit_fen": 200, "product_id": 6},
        {"kind": "relist", "price_fen": 100, "limit_fen": 200, "product_id": 6},
    ],
    "errors/delisted.txt": [
        {"product_id": 6, "name": "Oolong", "own": True},
        {"product_id": 6, "name": "Oolong", "own": False},
    ],
    "errors/quota_exceeded.txt": [
        {"what": "Green Tea Fund", "limit_fen": 100000, "remaining_fen": 50, "per_fan": True},
        {"what": "Green Tea Fund", "limit_fen": 100000, "remaining_fen": 50, "per_fan": False},
    ],
    "errors/store_exists.txt": [{"store_id": 2, "name": "Tea House"}, {"store_id": 0, "name": ""}],
    "errors/too_early.txt": [
        {"what": "order", "ident": 12, "action": "cancel", "allowed_at": WHEN}
    ],
    "errors/unknown_merchant.txt": [{"code": "x"}],
    "errors/wrong_status.txt": [
        {"what": "order", "ident": 12, "status": status, "action": action}
        for status, action in (
            ("paid", "ship"),
            ("paid", "receive"),
            ("completed", "receive"),
            ("shipped", "cancel"),
            ("cancelled", "ship"),
        )
    ],
    "notifications/coupon_issued.txt": [
        {"coupon": coupon_amount, "name": "Spring Sale", "occasion": "levelup", "level": "gold"},
        {"coupon": coupon_percent, "name": "Spring Sale", "occasion": "monthly", "level": None},
    ],
    "notifications/dividend.txt": [
        {
            "product_name": "Green Tea Fund",
            "holding_id": 8,
            "period": 1,
            "periods": 3,
            "amount_fen": 123,
            "paid_fen": 123,
            "principal_fen": 100000,
            "due_at": WHEN,
        }
    ],
    "notifications/group_filled.txt": [
        {"group_id": 9, "product": "Oolong", "price_fen": 9900, "order_id": 12}
    ],
    "notifications/group_orders.txt": [
        {"group_id": 9, "product": "Oolong", "price_fen": 9900, "order_ids": [12, 13, 14]},
        {"group_id": 9, "product": "Oolong", "price_fen": 9900, "order_ids": [12]},
    ],
    "notifications/group_refunded.txt": [{"group_id": 9, "amount_fen": 9900}],
    "notifications/matured.txt": [
        {
            "product_name": "Green Tea Fund",
            "holding_id": 8,
            "principal_fen": 100000,
            "paid_fen": 500,
            "matures_at": WHEN,
        }
    ],
    "notifications/order_cancelled.txt": [
        {"order_id": 12, "product": "Oolong", "qty": 2, "ships": True},
        {"order_id": 12, "product": "Oolong", "qty": 2, "ships": False},
    ],
    "notifications/order_completed.txt": [{"order_id": 12, "product": "Oolong", "qty": 2}],
    "notifications/order_paid.txt": [
        {
            "order_id": 12,
            "product": "Oolong",
            "qty": 2,
            "buyer": "Mei",
            "amount_fen": 20000,
            "reseller": None,
        },
        {
            "order_id": 12,
            "product": "Oolong",
            "qty": 2,
            "buyer": "Mei",
            "amount_fen": 18000,
            "reseller": "Tea House",
        },
    ],
    "notifications/order_payout.txt": [
        {
            "order_id": 12,
            "product": "Oolong",
            "qty": 2,
            "buyer": "Mei",
            "amount_fen": 20000,
            "store": "Tea House",
            "auto": auto,
        }
        for auto in (False, True)
    ],
    "notifications/order_shipped.txt": [
        {"order_id": 12, "product": "Oolong", "qty": 2, "complete_at": when}
        for when in (WHEN, None)
    ],
    "notifications/resale_delisted.txt": [{"item": RESALE}],
    "notifications/resale_supplier_delisted.txt": [{"item": RESALE}],
    "notifications/resale_relisted.txt": [{"item": RESALE}],
    "notifications/order_refunded.txt": [
        {"order": order, "coupon": coupon_amount},
        {"order": order, "coupon": None},
    ],
    "notifications/resale_margin.txt": [
        {"order_id": 12, "product": "Oolong", "qty": 2, "margin_fen": 2000, "store": "Tea House"}
    ],
    "notifications/resale_sold.txt": [
        {"order_id": 12, "product": "Oolong", "qty": 2, "buyer": "Mei", "margin_fen": 2000}
    ],
    "notifications/tip_received.txt": [
        {
            "tipper": "Mei",
            "title": "Best teas",
            "amount_fen": 500,
            "net_fen": 475,
            "fee_fen": 25,
        },
        {"tipper": "Mei", "title": "Best teas", "amount_fen": 500, "net_fen": 500, "fee_fen": 0},
    ],
    "orders/bought.txt": [
        {"order": order, "coupon": coupon_amount},
        {"order": Obj(**{**vars(order), "discount_fen": 0}), "coupon": None},
    ],
    "orders/cancelled.txt": [
        {"order": order, "coupon": coupon_amount},
        {"order": order, "coupon": None},
    ],
    "orders/group_joined.txt": [
        {"joined": Obj(group=group, orders=[order], my_order=order, product=product)},
        {"joined": Obj(group=group, orders=[], my_order=None, product=product)},
    ],
    "orders/orders.txt": [
        {"mine": Obj(bought=[], sold=[])},
        {
            "mine": Obj(
                bought=[
                    Obj(order=order, product_name="Oolong"),
                    Obj(
                        order=Obj(**{**vars(order), "group_id": 9, "status": "shipped"}),
                        product_name="Oolong",
                    ),
                ],
                sold=[
                    Obj(
                        order=Obj(**{**vars(order), "status": "completed"}),
                        product_name="Oolong",
                        role="affiliate",
                        amount_fen=100,
                    ),
                    Obj(
                        order=Obj(**{**vars(order), "affiliate_store_id": 4}),
                        product_name="Oolong",
                        role="supplier",
                        amount_fen=2000,
                    ),
                    Obj(
                        order=Obj(**{**vars(order), "status": "cancelled"}),
                        product_name="Oolong",
                        role="supplier",
                        amount_fen=0,
                    ),
                ],
            )
        },
    ],
    "orders/received.txt": [{"order": order}],
    "orders/shipped.txt": [{"order": order}],
    "articles/article_card.txt": [
        {
            "view": Obj(
                article=article,
                author_name="Mei",
                products=[product, product],
                ad=Obj(advertiser="Ads Inc", title="Spring Sale"),
            )
        },
        {"view": Obj(article=article, author_name="Mei", products=[], ad=None)},
    ],
    "articles/index_card.txt": [{"articles": [article] * 8}, {"articles": [article]}],
    "articles/index_title.txt": [{"articles": [article] * 2}],
    "articles/none.txt": [{}],
    "articles/product_card.txt": [
        {"product": product, "article": article},
        {"product": Obj(**{**vars(product), "description": ""}), "article": article},
    ],
    "articles/product_card_title.txt": [{"product": product}],
    "articles/tipped.txt": [
        {"receipt": Obj(tip=Obj(amount_fen=1250, fee_fen=0), author_name="Mei", article=article)},
        {"receipt": Obj(tip=Obj(amount_fen=1250, fee_fen=12), author_name="Mei", article=article)},
    ],
    "coupons/_terms.txt": [
        {"coupon": coupon_amount},
        {"coupon": coupon_percent},
        {"coupon": Obj(**{**vars(coupon_amount), "min_spend_fen": 0})},
        {"coupon": Obj(**{**vars(coupon_percent), "min_spend_fen": 0, "cap_fen": None})},
    ],
    "coupons/list.txt": [
        {"held": []},
        {
            "held": [
                Obj(coupon=coupon_amount, name="Spring Sale"),
                Obj(coupon=coupon_percent, name="Spring Sale"),
            ]
        },
    ],
    "membership/points.txt": [
        {
            "standing": Obj(points=120, level="green", next_level="gold", points_to_next=380),
            "rate": 1,
        },
        {
            "standing": Obj(points=2500, level="platinum", next_level=None, points_to_next=0),
            "rate": 2,
        },
    ],
    "offline/ask_amount.txt": [
        {"merchant": merchant, "welcome": True},
        {"merchant": merchant, "welcome": False},
    ],
    "offline/cancelled.txt": [{"merchant": merchant}],
    "offline/paid.txt": [{"payment": Obj(amount_fen=2500, merchant=merchant, balance_fen=7500)}],
    "offline/short.txt": [{"shortfall": Obj(amount_fen=2500, merchant=merchant, balance_fen=100)}],
    "partners/card_description.txt": [{"services": [service]}],
    "partners/card_title.txt": [{"services": [service]}],
    "partners/none.txt": [{}],
    "partners/used.txt": [
        {"usage": Obj(amount_fen=1000, service=service, commission_fen=50, balance_fen=100)},
        {"usage": Obj(amount_fen=1000, service=service, commission_fen=0, balance_fen=100)},
    ],
    "stores/group_price_set.txt": [{"listing": Obj(product=product)}],
    "stores/listed.txt": [{"listing": Obj(product=product, stock=5, store=store)}],
    "stores/moments.txt": [
        {"listings": []},
        {
            "listings": [
                Obj(product=product, store=store, is_resale=False, supplier_store=None),
                Obj(product=product, store=store, is_resale=True, supplier_store=store),
            ]
        },
    ],
    "stores/opened.txt": [{"store": store}],
    "stores/restocked.txt": [
        {"listing": Obj(product=Obj(**vars(product), stock=25)), "added": 20}
    ],
    "stores/repriced.txt": [
        {"repriced": Obj(listing=Obj(product=product), old_price_fen=100, delisted=[])},
        {"repriced": Obj(listing=Obj(product=product), old_price_fen=100, delisted=[RESALE])},
        {
            "repriced": Obj(
                listing=Obj(product=product), old_price_fen=100, delisted=[RESALE, RESALE]
            )
        },
    ],
    "stores/delisted.txt": [
        {"switched": Obj(listing=Obj(product=product), changed=changed)}
        for changed in (True, False)
    ],
    "stores/relisted.txt": [
        {"switched": Obj(listing=RESALE, changed=changed)} for changed in (True, False)
    ]
    + [{"switched": Obj(listing=Obj(**{**vars(RESALE), "on_sale": False}), changed=True)}],
    "stores/resold.txt": [
        {
            "listing": Obj(
                product=product,
                store=store,
                supplier_store=store,
                supplier=product,
                margin_fen=100,
            )
        }
    ],
    "stores/store_card.txt": [
        {"view": Obj(listings=[])},
        {"view": Obj(listings=[Obj(product=product, stock=0)] * 8)},
        {"view": Obj(listings=[Obj(product=product, stock=3)])},
    ],
    "stores/stores.txt": [
        {"summaries": [], "url": "http://127.0.0.1:8080"},
        {"summaries": [Obj(store=store, products=1)], "url": "http://127.0.0.1:8080"},
        {"summaries": [Obj(store=store, products=2)] * 2, "url": "http://127.0.0.1:8080"},
    ],
    "wealth/holdings.txt": [
        {"lines": []},
        {
            "lines": [
                Obj(
                    holding=holding,
                    product_name="Green Tea Fund",
                    total_dividend_fen=900,
                    next_amount_fen=75,
                ),
                Obj(
                    holding=Obj(**{**vars(holding), "status": "matured", "closed_at": WHEN}),
                    product_name="Green Tea Fund",
                    total_dividend_fen=900,
                    next_amount_fen=None,
                ),
            ]
        },
    ],
    "wealth/invested.txt": [
        {"holding": holding, "product_name": "Green Tea Fund", "total_dividend_fen": 900}
    ],
    "wealth/products.txt": [
        {"lines": []},
        {
            "lines": [
                Obj(product=wealth_product, remaining_fen=100000),
                Obj(product=Obj(**{**vars(wealth_product), "interval_days": 1}), remaining_fen=5),
            ]
        },
    ],
}

# What every reply body gets from Context.text besides its own values.
COMMON = {"fan": Obj(openid="o1", nickname="Mei"), "config": CONFIG}
