"""Notifications to the merchant's notify_url: the real body (resource AES-256-GCM encrypted with
the APIv3 key), signed headers, a 5 s limit per try, and retries on WeChat Pay's schedule
(botstore.services.wxpay.RETRY_SCHEDULE) on the emulated clock.

Tries run as the scheduler job `wxpay.notify` (so a clock advance tries each retry at its due
instant) and, between advances, from the app's poller (botstore/app.py, `wxpay_notify_ctx`) that
runs the same job every second under the scheduler's lock, so a payment's first try goes out at
once."""

import json
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import wall_now
from botstore.services import wxpay
from botstore.wechat import pay
from botstore.wxpay.platform import PlatformKeys, load_or_make

TIMEOUT_SECONDS = 5.0  # the platform waits this long for the merchant's answer
BATCH = 50
SUMMARY = {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功"}
ORIGINAL_TYPE = {"TRANSACTION.SUCCESS": "transaction", "REFUND.SUCCESS": "refund"}


def notification_body(claim: wxpay.Claim) -> str:
    """The JSON the merchant receives; made once and sent unchanged on every try."""
    notification = claim.notification
    if notification.body:
        return notification.body
    original = ORIGINAL_TYPE[notification.event_type]
    resource = pay.encrypt_resource(
        claim.merchant.apiv3_key,
        json.dumps(notification.resource, ensure_ascii=False, separators=(",", ":")),
        associated_data=original,
    )
    return json.dumps(
        {
            "id": notification.notify_id,
            "create_time": wxpay.china_time(notification.created_at),
            "resource_type": "encrypt-resource",
            "event_type": notification.event_type,
            "summary": SUMMARY[notification.event_type],
            "resource": {"original_type": original, **resource},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def signed_headers(keys: PlatformKeys, body: str, *, public_key_mode: bool) -> dict[str, str]:
    timestamp, nonce = str(int(wall_now().timestamp())), pay.nonce()
    return {
        "Content-Type": "application/json",
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": keys.serial_for(public_key_mode),
        "Wechatpay-Signature": keys.sign(pay.response_message(timestamp, nonce, body)),
        "Wechatpay-Signature-Type": pay.SCHEME,
        "User-Agent": "Mozilla/4.0 (botstore WeChat Pay emulation)",
    }


async def _post(
    http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str], seconds: float
) -> tuple[int | None, str, bool]:
    """(status, outcome, acknowledged): only 200 and 204 end the retries."""
    try:
        async with http.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as response:
            answer = (await response.content.read(200)).decode(errors="replace")
            acknowledged = response.status in (200, 204)
            outcome = f"HTTP {response.status}" + (f": {answer}" if answer else "")
            return response.status, outcome, acknowledged
    except TimeoutError:
        return None, f"no answer in {seconds:g} s", False
    except (aiohttp.ClientError, OSError, ValueError) as error:
        return None, f"could not connect: {type(error).__name__} {error}"[:200], False


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, seconds: float = TIMEOUT_SECONDS
) -> int:
    """Send every try due by `now`; how many were sent. A try is recorded at `now`, the instant
    the scheduler visits (its due time when the clock is advanced past it)."""
    sent = 0
    while True:
        async with sessions() as session, session.begin():
            claims = await wxpay.claim_due(
                session,
                now=now,
                wall_now=wall_now(),
                lease_until=wall_now() + timedelta(seconds=seconds * 3),
                limit=BATCH,
            )
            if not claims:
                return sent
            keys = await load_or_make(session, now=now)
        async with aiohttp.ClientSession() as http:
            for claim in claims:
                body = notification_body(claim)
                headers = signed_headers(
                    keys, body, public_key_mode=claim.merchant.public_key_mode
                )
                status, outcome, acknowledged = await _post(
                    http, claim.notification.url, body, headers, seconds
                )
                async with sessions() as session, session.begin():
                    await wxpay.record_attempt(
                        session,
                        claim,
                        body=body,
                        tried_at=now,
                        status=status,
                        outcome=outcome,
                        acknowledged=acknowledged,
                    )
                sent += 1
        if len(claims) < BATCH:
            return sent
