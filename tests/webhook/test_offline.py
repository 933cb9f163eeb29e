"""Offline merchants through the webhook: pay by code, and the amount conversation a QR scan
(SCAN, or subscribe with a qrscene_ key) opens."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from botstore.clock import FrozenClock
from botstore.console.client import Emulator
from botstore.models import Account, Conversation, LedgerTransaction, Merchant
from botstore.seed.offline import seed_offline
from tests.helpers import count


@pytest.fixture
async def demo(sessions, clock: FrozenClock) -> None:
    async with sessions() as session, session.begin():
        await seed_offline(session, now=clock.now())


async def merchant_balance(sessions, code: str) -> int:
    async with sessions() as session:
        merchant = (await session.exec(select(Merchant).where(Merchant.code == code))).one()
        account = await session.get(Account, merchant.account_id)
        assert account is not None
        return account.balance_fen


def unknown(text: str) -> str:
    return f'Sorry, I don\'t know "{text}". Send "help" for the commands.'


async def scan(wechat: Emulator, fan: str, scene: str, *, at: int = 0) -> str:
    exchange = await wechat.event(
        "SCAN", fan=fan, event_key=scene, create_time=wechat.now() + at, extra={"Ticket": "t"}
    )
    return exchange.content


async def test_pay_by_code_moves_wallet_and_merchant_in_one_transaction(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    reply = await wechat.say("pay TEA01 25", fan="o_a")
    assert reply.content == "Paid ¥25.00 to Lotus Tea House (TEA01). Balance: ¥75.00"
    assert (await wechat.say("付款 tea01 ¥0.5", fan="o_a")).content.endswith("余额：¥74.50")
    assert await merchant_balance(sessions, "TEA01") == 2550
    assert await count(sessions, LedgerTransaction) == 3  # the top-up and two payments


async def test_pay_to_an_unknown_code_says_so_and_moves_nothing(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 10", fan="o_a")
    reply = await wechat.say("pay TEA99 5", fan="o_a")
    assert reply.content.startswith('There is no merchant with code "TEA99".')
    assert await count(sessions, LedgerTransaction) == 1
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥10.00"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("pay TEA01 0", "<amount>: must be more than zero"),
        ("pay TEA01 -3", "<amount>: must be more than zero"),
        ("pay TEA01 1.234", "<amount>: at most two decimals (fen)"),
        ("pay TEA01 abc", "<amount>: not an amount in yuan, e.g. 12.5"),
        ("pay TEA01", "<amount> is missing"),
        ("pay", "<merchant code> is missing"),
        ("pay TEA01 5 6", "unexpected '6'"),
    ],
)
async def test_pay_with_bad_arguments_replies_the_reason_and_moves_nothing(
    wechat: Emulator, sessions, demo: None, text: str, reply: str
) -> None:
    await wechat.say("topup 10", fan="o_a")
    assert (await wechat.say(text, fan="o_a")).content == (
        f"{reply}\nUsage: pay <merchant code> <amount>"
    )
    assert await count(sessions, LedgerTransaction) == 1


async def test_pay_beyond_the_balance_is_refused_and_moves_nothing(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 3", fan="o_a")
    reply = await wechat.say("pay NOODLE 3.01", fan="o_a")
    assert reply.content.startswith("Not enough money: this needs ¥3.01 and the balance is ¥3.00")
    assert await merchant_balance(sessions, "NOODLE") == 0
    assert await count(sessions, LedgerTransaction) == 1


async def test_a_retried_pay_message_moves_money_once(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    first = await wechat.say("pay TEA01 12.5", fan="o_a", msg_id=4242)
    retry = await wechat.say("pay TEA01 12.5", fan="o_a", msg_id=4242)
    assert retry.raw == first.raw
    assert await merchant_balance(sessions, "TEA01") == 1250
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥87.50"


async def test_concurrent_pays_on_one_wallet_never_overdraw(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    exchanges = await asyncio.gather(*(wechat.say("pay TEA01 7", fan="o_a") for _ in range(30)))
    paid = [e for e in exchanges if e.content.startswith("Paid ¥7.00")]
    refused = [e for e in exchanges if e.content.startswith("Not enough money")]
    assert (len(paid), len(refused)) == (14, 16)
    assert await merchant_balance(sessions, "TEA01") == 9800
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥2.00"


async def test_scan_of_a_merchant_code_asks_the_amount_and_the_answer_pays(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    assert await scan(wechat, "o_a", "merchant_TEA01") == (
        "Paying Lotus Tea House (TEA01). How much? Send the amount in yuan, e.g. 25 or 25.5; "
        'send "cancel" to stop.'
    )
    assert (await wechat.say("25", fan="o_a")).content == (
        "Paid ¥25.00 to Lotus Tea House (TEA01). Balance: ¥75.00"
    )
    # The conversation is over: a second number is just an unknown command.
    assert (await wechat.say("25", fan="o_a")).content == unknown("25")
    assert await merchant_balance(sessions, "TEA01") == 2500
    assert await count(sessions, Conversation) == 0


async def test_subscribe_through_a_merchant_scene_welcomes_and_pays(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_new")
    welcome = await wechat.event(
        "subscribe", fan="o_new", event_key="qrscene_merchant_NOODLE", extra={"Ticket": "t"}
    )
    assert welcome.content.startswith("Welcome to botstore!")
    assert welcome.content.endswith(
        "Paying Lanzhou Noodle Bar (NOODLE). How much? Send the amount in yuan, e.g. 25 or 25.5; "
        'send "cancel" to stop.'
    )
    assert (await wechat.say("¥12.5", fan="o_new")).content == (
        "Paid ¥12.50 to Lanzhou Noodle Bar (NOODLE). Balance: ¥87.50"
    )
    assert await merchant_balance(sessions, "NOODLE") == 1250


@pytest.mark.parametrize(
    ("word", "cancelled", "then"),
    [
        (
            "cancel",
            "Payment to Two Wheels Bike Shop cancelled. Nothing was charged.",
            unknown("30"),
        ),
        (
            "取消",
            "已取消向 Two Wheels Bike Shop 付款。未扣任何款项。",
            '抱歉，我不明白"30"。发送"帮助"查看命令。',
        ),
        (
            " CANCEL ",
            "Payment to Two Wheels Bike Shop cancelled. Nothing was charged.",
            unknown("30"),
        ),
    ],
)
async def test_cancel_aborts_the_scan_payment_and_nothing_moves(
    wechat: Emulator, sessions, demo: None, word: str, cancelled: str, then: str
) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_BIKESHOP")
    reply = await wechat.say(word, fan="o_a")
    assert reply.content == cancelled
    # "取消" is a Chinese command word: the fan's language is Chinese from then on.
    assert (await wechat.say("30", fan="o_a")).content == then
    assert await merchant_balance(sessions, "BIKESHOP") == 0
    assert await count(sessions, LedgerTransaction) == 1


async def test_other_text_during_the_scan_payment_ends_it_and_is_routed_normally(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_TEA01")
    assert (await wechat.say("balance", fan="o_a")).content == "Your balance: ¥100.00"
    assert (await wechat.say("8", fan="o_a")).content == unknown("8")
    assert await merchant_balance(sessions, "TEA01") == 0


async def test_a_bad_amount_in_the_scan_payment_says_why_and_keeps_it_open(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_TEA01")
    for text, reason in [
        ("0", "must be more than zero"),
        ("-5", "must be more than zero"),
        ("1.234", "at most two decimals (fen)"),
        ("99999999", "must be at most 10,000,000 yuan"),
    ]:
        assert (await wechat.say(text, fan="o_a")).content == (
            f'"{text}" is not a valid amount: {reason}.'
        )
    assert (await wechat.say("5", fan="o_a")).content.startswith("Paid ¥5.00")
    assert await count(sessions, LedgerTransaction) == 2


async def test_short_of_money_the_scan_payment_waits_for_a_topup(
    wechat: Emulator, sessions, demo: None
) -> None:
    await wechat.say("topup 1", fan="o_a")
    await scan(wechat, "o_a", "merchant_NOODLE")
    assert (await wechat.say("18", fan="o_a")).content == (
        "Not enough money to pay ¥18.00 to Lanzhou Noodle Bar: your balance is ¥1.00. "
        'Send "topup <amount>" and then the amount again, a smaller amount, or "cancel".'
    )
    # Once short, other commands (the top-up) leave the payment open for the amount.
    assert (await wechat.say("topup 20", fan="o_a")).content.endswith("Balance: ¥21.00")
    assert (await wechat.say("18", fan="o_a")).content == (
        "Paid ¥18.00 to Lanzhou Noodle Bar (NOODLE). Balance: ¥3.00"
    )
    assert await merchant_balance(sessions, "NOODLE") == 1800
    assert await count(sessions, Conversation) == 0


async def test_a_retried_amount_message_pays_once(wechat: Emulator, sessions, demo: None) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_TEA01")
    first = await wechat.say("10", fan="o_a", msg_id=777)
    retry = await wechat.say("10", fan="o_a", msg_id=777)
    assert retry.raw == first.raw and first.content.startswith("Paid ¥10.00")
    assert await merchant_balance(sessions, "TEA01") == 1000


async def test_the_scan_payment_expires(
    wechat: Emulator, sessions, clock: FrozenClock, demo: None
) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_TEA01")
    clock.advance(timedelta(minutes=11))
    assert (await wechat.say("10", fan="o_a")).content == unknown("10")
    assert await merchant_balance(sessions, "TEA01") == 0


async def test_a_second_scan_switches_merchant(wechat: Emulator, sessions, demo: None) -> None:
    await wechat.say("topup 100", fan="o_a")
    await scan(wechat, "o_a", "merchant_TEA01")
    assert (await scan(wechat, "o_a", "merchant_NOODLE", at=1)).startswith("Paying Lanzhou")
    assert (await wechat.say("6", fan="o_a")).content.startswith("Paid ¥6.00 to Lanzhou")
    assert await merchant_balance(sessions, "TEA01") == 0
    assert await merchant_balance(sessions, "NOODLE") == 600


async def test_scan_of_a_scene_that_is_no_merchant_answers_success(
    wechat: Emulator, sessions, demo: None
) -> None:
    exchange = await wechat.event("SCAN", fan="o_a", event_key="merchant_GONE")
    assert exchange.is_success
    assert await count(sessions, Conversation) == 0
