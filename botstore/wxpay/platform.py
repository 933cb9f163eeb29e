"""The platform's RSA key pair and certificate: made on first use, stored, shared by processes."""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.clock import wall_now
from botstore.models import WxPayPlatform
from botstore.services import wxpay
from botstore.wechat import pay

# The SDKs check the certificate against real time, whatever the emulated clock says.
CERTIFICATE_YEARS = 10


@dataclass(frozen=True, slots=True)
class PlatformKeys:
    private_key: rsa.RSAPrivateKey
    public_key_id: str
    public_key_pem: str
    certificate_pem: str
    certificate_serial: str
    effective: datetime
    expires: datetime

    def sign(self, message: str) -> str:
        return pay.sign(self.private_key, message)

    def serial_for(self, public_key_mode: bool) -> str:
        """`Wechatpay-Serial`: the public key id for a merchant in public-key mode, else the
        certificate's serial."""
        return self.public_key_id if public_key_mode else self.certificate_serial


def _from_row(row: WxPayPlatform) -> PlatformKeys:
    effective, expires = pay.certificate_validity(row.certificate_pem)
    return PlatformKeys(
        pay.load_private_key(row.private_key_pem),
        row.public_key_id,
        row.public_key_pem,
        row.certificate_pem,
        row.certificate_serial,
        effective,
        expires,
    )


def _make(now: datetime) -> WxPayPlatform:
    key = pay.new_private_key()
    serial = pay.certificate_serial()
    start = wall_now() - timedelta(days=1)
    return WxPayPlatform(
        id=1,
        # The platform's ids are PUB_KEY_ID_ and digits.
        public_key_id="PUB_KEY_ID_01" + "".join(secrets.choice("0123456789") for _ in range(26)),
        private_key_pem=pay.private_pem(key),
        public_key_pem=pay.public_pem(key.public_key()),
        certificate_pem=pay.self_signed_certificate(
            key,
            serial=serial,
            not_before=start,
            not_after=start + timedelta(days=365 * CERTIFICATE_YEARS),
        ),
        certificate_serial=serial,
        created_at=now,
    )


async def load_or_make(session: AsyncSession, *, now: datetime) -> PlatformKeys:
    """The stored keys, made and stored first if there are none."""
    row = await wxpay.platform(session)
    if row is None:
        row = await wxpay.keep_platform(session, _make(now))
    return _from_row(row)


class PlatformCache:
    """The keys, read (or made) once per process."""

    def __init__(self) -> None:
        self._keys: PlatformKeys | None = None
        self._lock = asyncio.Lock()

    async def get(
        self, sessions: async_sessionmaker[AsyncSession], *, now: datetime
    ) -> PlatformKeys:
        if self._keys is None:
            async with self._lock:
                if self._keys is None:
                    async with sessions() as session, session.begin():
                        self._keys = await load_or_make(session, now=now)
        return self._keys
