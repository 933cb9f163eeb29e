"""Load for the reliability tests: a seeded mix of fans' messages and events sent through the
signed webhook of a live server, with WeChat-style retries, and the checks that afterwards every
message had exactly one effect and the shop's stock adds up."""

import asyncio
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from random import Random

import aiohttp
from sqlalchemy import text

from botstore.console.client import Emulator, EmulatorError, Exchange
from botstore.db import create_engine

TOKEN = "soaktoken"
APP_ID = "wxsoak0123456789"
AES_KEY = "SoakSoakSoak0123456789abcdefghijklmnopqrstu"
ACCOUNT_ID = "gh_soak00000001"


@dataclass(frozen=True, slots=True)
class Account:
    """What the emulator shares with the server (see `server_settings`)."""

    token: str = TOKEN
    app_id: str = APP_ID
    encoding_aes_key: str = AES_KEY
    account_id: str = ACCOUNT_ID


def server_settings(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a live server on `database_url`, with the demo data."""
    return {
        "BOTSTORE_DATABASE_URL": database_url,
        "BOTSTORE_DATABASE_SEED_DEMO": "true",
        "BOTSTORE_WECHAT_TOKEN": TOKEN,
        "BOTSTORE_WECHAT_APP_ID": APP_ID,
        "BOTSTORE_WECHAT_ENCODING_AES_KEY": AES_KEY,
        "BOTSTORE_WECHAT_ACCOUNT_ID": ACCOUNT_ID,
        "BOTSTORE_WECHAT_MODE": "compatible",
        "BOTSTORE_WECHAT_TIMESTAMP_WINDOW_SECONDS": "0",
        # Under load on a busy CI machine a reply may take seconds; past the budget it would
        # go to the outbox and its retry would see a different answer than the original.
        "BOTSTORE_SERVER_REPLY_BUDGET_SECONDS": "60",
        **extra,
    }


@dataclass(frozen=True, slots=True)
class Send:
    """One push from the platform: a fan's text or image, or an event."""

    fan: str
    msg_type: str  # text, image or event
    content: str = ""  # the text, or the event's name
    event_key: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    msg_id: int | None = None
    create_time: int = 0
    encrypt: bool = False

    @property
    def dedup_key(self) -> str:
        """The webhook's key for it (wechat-protocol.md 4)."""
        if self.msg_id is not None:
            return f"msg:{self.fan}:{self.msg_id}"
        return f"evt:{self.fan}:{self.create_time}:{self.content}:{self.event_key or ''}"

    async def deliver(self, wechat: Emulator) -> Exchange:
        if self.msg_type == "event":
            return await wechat.event(
                self.content,
                fan=self.fan,
                event_key=self.event_key,
                create_time=self.create_time,
                extra=dict(self.extra),
                encrypt=self.encrypt,
            )
        fields = {"Content": self.content} if self.msg_type == "text" else dict(self.extra)
        return await wechat.message(
            self.msg_type,
            fields,
            fan=self.fan,
            msg_id=self.msg_id,
            create_time=self.create_time,
            encrypt=self.encrypt,
        )

    def __str__(self) -> str:
        what = self.content if self.msg_type != "event" else f"{self.content} {self.event_key}"
        return f"{self.dedup_key} {self.fan} {self.msg_type} {what!r}"


AMOUNTS = ["0.01", "1", "2.5", "5", "8.88", "12", "20", "35.5"]
UNKNOWN_TEXTS = [
    "hello",  # a demo keyword rule
    "opening hours?",
    "营业时间是几点",
    "what can you do",
    "buy",
    "tip 1",
    "topup 0.001",
    "topup -5",
    "topup 99999999999",
    "buy 1;DROP TABLE fan",
    "🙂",
    "received 999999",
    "ship 1",
    "cancel 2",
]
READS = ["balance", "余额", "history", "orders", "holdings", "points", "coupons", "wealth"]
READS += ["stores", "moments", "articles", "read 1", "services", "store 1", "help", "help buy"]


class Mix:
    """A seeded generator of the messages of `fans` fans: every command area, bad input, events."""

    def __init__(self, rng: Random, *, fans: int, product_ids: Sequence[int], start: int) -> None:
        self.rng = rng
        self.fans = [f"o_soak_{index:04d}" for index in range(fans)]
        self.product_ids = list(product_ids)
        self._msg_ids = iter(range(10**12 + rng.randrange(10**9), 2 * 10**12))
        self._times = iter(range(start, start + 10**9))
        # (weight, maker): the share of each kind of message.
        self.kinds = [
            (14, self.topup),
            (10, self.read),
            (15, self.buy),
            (9, self.tip),
            (5, self.invest),
            (9, self.pay),
            (3, self.use),
            (6, self.unknown),
            (3, self.bare_amount),
            (10, self.event),
            (1, self.image),
        ]

    def text(self, fan: str, content: str) -> Send:
        return Send(
            fan,
            "text",
            content,
            msg_id=next(self._msg_ids),
            create_time=next(self._times),
            encrypt=self.rng.random() < 0.1,
        )

    def first_topups(self) -> list[Send]:
        """Every fan starts with some money, so that spending is mostly possible."""
        return [
            self.text(fan, f"topup {self.rng.choice(['50', '100', '300'])}") for fan in self.fans
        ]

    def messages(self, count: int) -> list[Send]:
        weights = [weight for weight, _ in self.kinds]
        makers = [maker for _, maker in self.kinds]
        return [
            self.rng.choices(makers, weights)[0](self.rng.choice(self.fans)) for _ in range(count)
        ]

    def topup(self, fan: str) -> Send:
        return self.text(fan, f"{self.rng.choice(['topup', '充值'])} {self.rng.choice(AMOUNTS)}")

    def read(self, fan: str) -> Send:
        return self.text(fan, self.rng.choice(READS))

    def buy(self, fan: str) -> Send:
        product = self.rng.choice([*self.product_ids, max(self.product_ids) + 50])
        qty = self.rng.choice(["", "", " 1", " 2", " 3", " 0", " 1000"])
        return self.text(fan, f"buy #{product}{qty}")

    def tip(self, fan: str) -> Send:
        return self.text(fan, f"tip {self.rng.randint(1, 4)} {self.rng.choice(AMOUNTS)}")

    def invest(self, fan: str) -> Send:
        product = self.rng.choice([1, 1, 1, 2, 9])
        return self.text(fan, f"invest {product} {self.rng.choice(['50', '60.5', '80', '1000'])}")

    def pay(self, fan: str) -> Send:
        code = self.rng.choice(["TEA01", "noodle", "BIKESHOP", "NOPE"])
        return self.text(fan, f"pay {code} {self.rng.choice(AMOUNTS)}")

    def use(self, fan: str) -> Send:
        return self.text(fan, f"use {self.rng.randint(1, 5)} {self.rng.choice(AMOUNTS)}")

    def unknown(self, fan: str) -> Send:
        return self.text(fan, self.rng.choice(UNKNOWN_TEXTS))

    def bare_amount(self, fan: str) -> Send:
        # Pays a merchant if the fan's SCAN started a payment; otherwise an unknown command.
        return self.text(fan, self.rng.choice(["8.8", "3", "¥2.5", "cancel"]))

    def image(self, fan: str) -> Send:
        extra = (("PicUrl", "http://img.example/1.png"), ("MediaId", "media-1"))
        return Send(fan, "image", extra=extra, msg_id=next(self._msg_ids), create_time=0)

    def event(self, fan: str) -> Send:
        name, key, extra = self.rng.choice(
            [
                ("subscribe", None, ()),
                ("subscribe", "qrscene_merchant_NOODLE", (("Ticket", "t-1"),)),
                ("unsubscribe", None, ()),
                ("SCAN", "merchant_TEA01", (("Ticket", "t-2"),)),
                ("SCAN", "no_such_scene", (("Ticket", "t-3"),)),
                ("CLICK", "balance", ()),
                ("CLICK", "topup 1", ()),
                ("VIEW", "https://example.com/menu", (("MenuId", "7"),)),
                (
                    "LOCATION",
                    None,
                    (("Latitude", "23.137466"), ("Longitude", "113.352425"), ("Precision", "1")),
                ),
            ]
        )
        return Send(
            fan,
            "event",
            name,
            event_key=key,
            extra=extra,
            create_time=next(self._times),
            encrypt=self.rng.random() < 0.1,
        )


def with_retries(rng: Random, originals: Sequence[Send], share: float) -> list[tuple[Send, ...]]:
    """The order of sending: `share` of the messages are sent twice, as the platform retries when
    a reply is slow; half of those copies at the same moment as the original, the rest later."""
    slots: list[tuple[float, tuple[Send, ...]]] = []
    for index, send in enumerate(originals):
        if rng.random() >= share:
            slots.append((index, (send,)))
        elif rng.random() < 0.5:
            slots.append((index, (send, send)))
        else:
            slots.append((index, (send,)))
            slots.append((index + rng.uniform(0.5, 300), (send,)))
    slots.sort(key=lambda slot: slot[0])
    return [copies for _, copies in slots]


@dataclass
class Results:
    """What each dedup key got back, and the sends that reached no server."""

    answers: dict[str, list[Exchange]] = field(default_factory=lambda: defaultdict(list))
    sends: dict[str, Send] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0

    def add(self, send: Send, outcome: Exchange | BaseException) -> None:
        self.sent += 1
        self.sends[send.dedup_key] = send
        if isinstance(outcome, Exchange) and outcome.status == 200:
            self.answers[send.dedup_key].append(outcome)
        else:
            self.failed += 1

    @property
    def unanswered(self) -> list[Send]:
        """Messages no copy of which got a reply yet: the platform would retry them."""
        return [send for key, send in self.sends.items() if key not in self.answers]


def client_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=300),
        connector=aiohttp.TCPConnector(limit=256),
    )


async def send_all(
    wechat: Emulator,
    items: Sequence[tuple[Send, ...]],
    rng: Random,
    results: Results,
    *,
    concurrency: Sequence[int] = (2, 8, 32, 64),
    server_up: asyncio.Event | None = None,
) -> None:
    """Send `items` (copies in an item go at once) in stretches of random concurrency.

    Without `server_up`, a send that gets no answer fails the test. With it (a fault test
    cuts the server off and clears it), a send that gets none is recorded, waits until the
    server is up again and goes again, as the platform retries a message that got no reply.
    """

    async def deliver(send: Send) -> None:
        while True:
            try:
                outcome: Exchange | BaseException = await send.deliver(wechat)
            except EmulatorError as error:
                if server_up is None:
                    raise
                outcome = error
            if server_up is None:
                assert isinstance(outcome, Exchange) and outcome.status == 200, (
                    f"{send}: {outcome.describe() if isinstance(outcome, Exchange) else outcome}"
                )
            results.add(send, outcome)
            if isinstance(outcome, Exchange) and outcome.status == 200:
                return
            assert server_up is not None
            await server_up.wait()

    position = 0
    while position < len(items):
        stretch = items[position : position + rng.randint(200, 2000)]
        position += len(stretch)
        queue = iter(stretch)

        async def worker(queue: Iterator[tuple[Send, ...]]) -> None:
            for copies in queue:
                await asyncio.gather(*(deliver(copy) for copy in copies))

        await asyncio.gather(*(worker(queue) for _ in range(rng.choice(concurrency))))


def check_replies(results: Results) -> None:
    """Every answer is a well-formed reply to its fan, and every copy got the same one."""
    for key, exchanges in results.answers.items():
        fan = results.sends[key].fan
        for exchange in exchanges:
            assert not exchange.problems, (key, exchange.problems, exchange.body)
            if not exchange.is_success:
                assert exchange.reply is not None, (key, exchange.body)
                assert exchange.reply.to_user == fan, (key, exchange.reply_xml)
                assert exchange.reply.from_user == ACCOUNT_ID, (key, exchange.reply_xml)
        first = exchanges[0]
        for copy in exchanges[1:]:
            assert (copy.is_success, copy.reply_xml) == (first.is_success, first.reply_xml), (
                f"a retry of {results.sends[key]} got another reply:\n"
                f"{first.reply_xml or first.body}\n{copy.reply_xml or copy.body}"
            )


# What a reply says happened to the fan's wallet: +amount (a top-up) or -amount (a payment), in
# either language (a command word decides it: `充值 5` is answered in Chinese, and so is a menu
# click or a bare amount of a fan who last typed one). Amounts are grouped: ¥1,000.50.
YUAN = r"¥(?P<yuan>[\d,]+)\.(?P<fen>\d\d)"
MONEY_REPLIES = [
    ("Topped", re.compile(rf"Topped up {YUAN}\."), 1),
    ("Topped", re.compile(rf"已充值 {YUAN}。"), 1),
    ("Order", re.compile(rf"Order #\d+: \d+ x product #\d+, .*?paid {YUAN}"), -1),
    ("Order", re.compile(rf"订单 #\d+：商品 #\d+ × \d+，.*?实付 {YUAN}"), -1),
    ("You", re.compile(rf"You tipped {YUAN} "), -1),
    ("You", re.compile(rf"你为文章 #\d+《.*?》打赏了 .*? {YUAN}[（。]"), -1),
    ("Bought", re.compile(rf"Bought {YUAN} of "), -1),
    ("Bought", re.compile(rf"已买入 .*? {YUAN}："), -1),
    ("Paid", re.compile(rf"Paid {YUAN} to "), -1),
    ("Paid", re.compile(rf"已向 .*?付款 {YUAN}[。，]"), -1),
]
ORDER_REPLIES = [
    re.compile(
        rf"Order #(?P<order>\d+): (?P<qty>\d+) x product #(?P<product>\d+), .*?paid {YUAN}"
    ),
    re.compile(rf"订单 #(?P<order>\d+)：商品 #(?P<product>\d+) × (?P<qty>\d+)，.*?实付 {YUAN}"),
]


def fen_of(match: re.Match[str]) -> int:
    return int(match.group("yuan").replace(",", "")) * 100 + int(match.group("fen"))


def wallet_change(reply: str) -> tuple[str, int] | None:
    """What moved the fan's wallet and by how many fen, as the reply says; None if nothing."""
    for kind, pattern, sign in MONEY_REPLIES:
        match = pattern.match(reply)
        if match:
            return kind, sign * fen_of(match)
    return None


def order_of(reply: str) -> tuple[int, int, int, int] | None:
    """(order id, qty, product id, fen paid) of a reply placing an order."""
    for pattern in ORDER_REPLIES:
        match = pattern.match(reply)
        if match:
            order_id, qty, product_id = (int(match.group(n)) for n in ("order", "qty", "product"))
            return order_id, qty, product_id, fen_of(match)
    return None


async def check_exactly_once(database_url: str, results: Results) -> dict[str, int]:
    """Each message was recorded once, and moved money (once) exactly when its reply says so.

    Every ledger transaction and order a message causes is keyed `<dedup key>:<role>`; a copy
    that ran twice would show as a second log row, or as money its reply doesn't mention.
    Returns how many messages moved money, by reply kind, for the test's report.
    """
    assert not results.unanswered, [str(send) for send in results.unanswered[:5]]
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            logged = Counter(
                key
                for (key,) in await connection.execute(
                    text("SELECT dedup_key FROM inbound_message")
                )
            )
            wallets = dict(
                (await connection.execute(text("SELECT openid, wallet_account_id FROM fan"))).all()
            )
            entries = (
                await connection.execute(
                    text(
                        "SELECT t.key, e.account_id, e.amount_fen FROM ledger_transaction t "
                        "JOIN ledger_entry e ON e.transaction_id = t.id "
                        "WHERE t.key LIKE 'msg:%' OR t.key LIKE 'evt:%'"
                    )
                )
            ).all()
            orders = {
                key.removesuffix(":order"): (order_id, qty, product_id, total)
                for key, order_id, qty, product_id, total in await connection.execute(
                    text('SELECT key, id, qty, product_id, total_fen FROM "order"')
                )
            }
    finally:
        await engine.dispose()

    assert set(logged) == set(results.answers), "the log holds other messages than were sent"
    twice = [key for key, n in logged.items() if n != 1]
    assert not twice, f"messages handled more than once: {twice[:10]}"

    moved: dict[str, int] = defaultdict(int)
    for key, account_id, amount in entries:
        message_key = key.rsplit(":", 1)[0]
        assert message_key in results.sends, f"ledger transaction {key} of no message sent"
        mine = account_id == wallets[results.sends[message_key].fan]
        moved[message_key] += amount if mine else 0

    kinds: Counter[str] = Counter()
    for key, exchanges in results.answers.items():
        reply = exchanges[0].content
        change = wallet_change(reply)
        where = f"{results.sends[key]} -> {reply!r}"
        if change is None:
            assert key not in moved, f"money moved, but the reply says nothing did: {where}"
        else:
            kind, expected = change
            assert moved.get(key) == expected, f"wallet moved {moved.get(key)}: {where}"
            kinds[kind] += 1
        order = order_of(reply)
        if order is None:
            assert key not in orders, f"an order the reply doesn't mention: {where}"
        else:
            order_id, qty, product_id, paid_fen = order
            assert orders.get(key, (None,))[0] == order_id, where
            assert orders[key][1:] == (qty, product_id, paid_fen), where
    return dict(kinds)


async def stock_levels(database_url: str) -> dict[int, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return dict((await connection.execute(text("SELECT id, stock FROM product"))).all())
    finally:
        await engine.dispose()


async def check_stock(database_url: str, initial: dict[int, int]) -> int:
    """Every product's stock plus what its paid (not cancelled) orders took is what it started
    with; returns the units sold."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            sold: Counter[int] = Counter()
            for product_id, qty in await connection.execute(
                text("SELECT supplier_product_id, qty FROM \"order\" WHERE status <> 'cancelled'")
            ):
                sold[product_id] += qty
            open_groups = (
                await connection.execute(
                    text("SELECT count(*) FROM group_buy WHERE status = 'open'")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert open_groups == 0, "group buys hold stock too; this load starts none"
    now = await stock_levels(database_url)
    assert set(now) == set(initial), "products appeared or vanished"
    wrong = {
        product_id: (initial[product_id], now[product_id], sold[product_id])
        for product_id in initial
        if now[product_id] + sold[product_id] != initial[product_id]
    }
    assert not wrong, f"stock + sold != initial stock (initial, now, sold): {wrong}"
    return sum(sold.values())


async def setup_shops(wechat: Emulator, mix: Mix, results: Results) -> list[int]:
    """Four fans' stores with a small stock each (so they sell out under load) and a resale;
    returns every product id buyers may pick, the demo's included."""

    async def say(fan: str, content: str, expected: str) -> int:
        send = mix.text(fan, content)
        exchange = await send.deliver(wechat)
        results.add(send, exchange)
        assert expected in exchange.content, exchange.describe()
        match = re.search(r"#(\d+)", exchange.content)
        assert match, exchange.content
        return int(match.group(1))

    ids = list(range(1, 10))  # the demo's eight products and its resale
    for index in range(4):
        seller = f"o_soak_seller_{index}"
        await say(seller, f"open Soak-{index}", "is open")
        for name, price, stock in ((f"Tea-{index}", "3.5", 15), (f"Cup-{index}", "8", 25)):
            ids.append(await say(seller, f"list {name} {price} {stock}", "Listed product #"))
    price = mix.rng.choice(["4", "5.5"])
    await say("o_soak_reseller", "open Soak-Resale", "is open")
    ids.append(await say("o_soak_reseller", f"resell {ids[9]} {price}", "Listed product #"))
    return ids


def summary(results: Results, seconds: float, server_cpu: float | None = None) -> str:
    answered = results.sent - results.failed
    copies = answered - len(results.answers)
    cpu = f", {server_cpu / answered * 1000:.1f} ms of server CPU each" if server_cpu else ""
    failed = f", {results.failed} got no answer" if results.failed else ""
    return (
        f"{answered} answered ({len(results.answers)} messages, {copies} retried copies)"
        f"{failed} in {seconds:.1f} s: {answered / seconds:.0f} per second{cpu}"
    )


def new_seed() -> int:
    return secrets.randbelow(2**32)


def flatten(items: Iterable[tuple[Send, ...]]) -> list[Send]:
    return [send for copies in items for send in copies]


def report(line: str) -> None:
    """Figures and the seed for the log: pytest shows them with a failure (with -n 0 -s, always)."""
    print(line)  # noqa: T201
