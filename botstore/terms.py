"""Domain words stored in English (statuses, ledger kinds, what a refusal is about), each with the
words a fan reads; the reply templates translate them with `{{ value | label("group") }}`."""

from botstore.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    # What a refusal names: NotFound("order", 12), Deactivated("store", ...), NotYours(...).
    "thing": {
        "ad": N_("ad"),
        "article": N_("article"),
        "coupon campaign": N_("coupon campaign"),
        "group": N_("group"),
        "merchant": N_("merchant"),
        "order": N_("order"),
        "partner service": N_("partner service"),
        "product": N_("product"),
        "store": N_("store"),
        "wealth product": N_("wealth product"),
        "keyword rule": N_("keyword rule"),
        "reply setting": N_("reply setting"),
    },
    # Who may act on an order or product (NotYours).
    "who": {
        "buyer": N_("buyer"),
        "store owner": N_("store owner"),
        "supplying store's owner": N_("supplying store's owner"),
    },
    # What a fan can't do to their own product (OwnProduct).
    "action": {"buy": N_("buy"), "resell": N_("resell")},
    "order status": {
        "paid": N_("paid"),
        "shipped": N_("shipped"),
        "completed": N_("completed"),
        "cancelled": N_("cancelled"),
    },
    # Ledger transaction kinds, as the wallet's history shows them.
    "ledger": {
        "topup": N_("top-up"),
        "tip": N_("tip"),
        "tip_fee": N_("tip fee"),
        "order_pay": N_("order payment"),
        "order_release": N_("order payout"),
        "order_refund": N_("order refund"),
        "group_pay": N_("group buy payment"),
        "group_refund": N_("group buy refund"),
        "merchant_pay": N_("merchant payment"),
        "partner_use": N_("partner service"),
        "invest": N_("investment"),
        "dividend": N_("dividend"),
        "maturity": N_("principal returned"),
        "ad_revenue": N_("ad revenue"),
        "ad_budget": N_("ad budget"),
        "coupon_budget": N_("coupon budget"),
        "wealth_funding": N_("fund deposit"),
    },
    # A refused argument's name (BadArgument) as the fan reads it.
    "argument": {
        "amount": N_("amount"),
        "article": N_("article"),
        "id": N_("id"),
        "quantity": N_("quantity"),
        "stock": N_("stock"),
        "price": N_("price"),
        "name": N_("name"),
        "store name": N_("store name"),
        "product name": N_("product name"),
        "group size": N_("group size"),
        "language": N_("language"),
        "code": N_("code"),
    },
    # Membership levels of config.toml's default ladder.
    "level": {"green": N_("green"), "gold": N_("gold"), "platinum": N_("platinum")},
}
