"""Wallet commands through the real webhook."""

from botstore.console.client import Emulator


async def test_topup_then_balance(wechat: Emulator) -> None:
    topped = await wechat.say("topup 20", fan="alice")
    assert topped.content == "Topped up ¥20.00. Balance: ¥20.00"
    balance = await wechat.say("balance", fan="alice")
    assert balance.content == "Your balance: ¥20.00"
    balance = await wechat.say("余额", fan="alice")
    assert balance.content == "你的余额：¥20.00"


async def test_topup_moves_money_once_when_wechat_retries(wechat: Emulator) -> None:
    first = await wechat.say("topup 12.5", fan="alice", msg_id=42)
    retry = await wechat.say("topup 12.5", fan="alice", msg_id=42)
    assert retry.raw == first.raw
    assert (await wechat.say("balance", fan="alice")).content == "Your balance: ¥12.50"
