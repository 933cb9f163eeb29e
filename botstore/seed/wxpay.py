"""The demo WeChat Pay merchant: its key pair, APIv3 key and serial are public
(docs/wechat-pay.md), so the gateway takes them from loopback only (botstore/wxpay/gateway.py),
as `serve` refuses the shipped secrets off loopback."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.services import wxpay

DEMO_MCHID = "1900000109"
DEMO_APPID = "wxd678efh567hg6787"
DEMO_APIV3_KEY = "botstoreDemoApiV3Key0123456789ab"
DEMO_SERIAL_NO = "115A109606B09E7D18BEBACD6726AA7394F7FF53"
DEMO_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsLHWBRXsmXdmqh/RhtoQ
N5REBX0cBesCgz9FWGkz6NTKgdeEtV86WtZUDpa/XCwfXQ9AVn1759iZ/OeO9EV+
OG9zt2L5kYNIboU/PDZPWvKqeWfyb9NM4aTfb/RADCcoFDcBkiTPQT/eP/WUfgG+
CMecFB7JCCr7qGhbM/rH/6507n8AQJ9fDqqGaxVKfCV/lbPcrZI9c1IcZOS7PBMZ
OIlvk8DMqLbYZQl8Q19AE/uTFz0SnA7u8n5VCn80hfIxGLW1cgt4+J/Os1leVHVn
amlcSSa2gAkgRUerdrpTq/1uKUe3uPG6UdI96timkYDhpubPuaEPNQwjNzJHjmZQ
rQIDAQAB
-----END PUBLIC KEY-----
"""
# Public on purpose: what a developer signs with to try the demo merchant (docs/wechat-pay.md).
DEMO_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCwsdYFFeyZd2aq
H9GG2hA3lEQFfRwF6wKDP0VYaTPo1MqB14S1Xzpa1lQOlr9cLB9dD0BWfXvn2Jn8
5470RX44b3O3YvmRg0huhT88Nk9a8qp5Z/Jv00zhpN9v9EAMJygUNwGSJM9BP94/
9ZR+Ab4Ix5wUHskIKvuoaFsz+sf/rnTufwBAn18OqoZrFUp8JX+Vs9ytkj1zUhxk
5Ls8Exk4iW+TwMyotthlCXxDX0AT+5MXPRKcDu7yflUKfzSF8jEYtbVyC3j4n86z
WV5UdWdqaVxJJraACSBFR6t2ulOr/W4pR7e48bpR0j3q2KaRgOGm5s+5oQ81DCM3
MkeOZlCtAgMBAAECggEAA4nMH7jbN1MnUg6gVJY/18uf6c8iGZ2xUzA6+6BuO39b
uPXmyVO62feLrelKhSfP8bKSqz/9H+5TL88gWP1YWhPeXPp7IrrTAk8zrg8suFxt
GdwvvkhuBbJcPOQ7PNSEoU6i2/ZV1IEHo2g+cs7Jwq4oPT1zfMJif7gaKf0IWVX8
HIzXSWWQ331Z/F5JsYQrMni01aBCfxDa2muZQV9khlXxnZH8z4odDr4l1fE7wpM+
TAoCpZ+WBgdv1mktqrsj98RgxOC9RRbgua5JPF4lugNULqqrdFzFQj2vj1b6e2cC
xAFAOWl8dYivZRx/ToeJvetrcz0k3CY8gUf2gO5RUQKBgQDfFm/vOYfM8Hyhj5Bl
agufZ2BLS//Yq4Ql8Ro+ZyZiiXy5WsBNYbzR6P0pXxPjzVD/vKMkfkKiGWtLab+E
R2trQoJ/RrZC9uNdJ/o3aaJHy4Pq0NfA/ZE1TjhbNrnkdUl8om/doea5j9n2Vp7q
1eENoMSR0vLlxIzJ8m1gsdCJBwKBgQDKwzs4Ge+eLvt0uvpicurHQ8Rqw4ffIYU8
ZHzOtnBHwsjESpmatug/EIaSXCQoGypeuBpdINaVYcM6SGFCq1K/mEdAkHlSqXc2
fU6NUxNoFW77MFJgK4fYbm84JTCrL1F9dVG+DFpeFbtzNR/U9l66oQoR5mwsl4ui
bK888VmvqwKBgHVruukAsADnx8HF7evjQFDbuayISRcDWCAcYoLcCjEtSq/JG5Tf
T+Jwrufaun5Z8DtbT8eCiZIGrRnZhEucx+aB8GwLjR18E7pRs3r9J8SAU2QCHr3e
+VJEZJdmG7wrG831NcpDUEz1cXUerLDQeI+SwkQ680yLAsu8xWNy1F97AoGAd/rm
g9/1BmlOqlgp6S+O9bKH+5UQRVyUdpQPtlIGRrBgFKcAFai97PNebiTP0FuiysGt
+AWCdIqQ91/1DXpLUMxO/UmAQQW+YSPs43uRNDnanhCN7hJUJCHU9igrkGBDnDVb
1VWB88JwVU/OMjpG+7BnQQhUYl6aZdZiK3G1XFkCgYBR4n9U5/LiNaTkG/2jdF7Z
FHRimFx3neNJgvX3yMMYcK3qZK/2Vc5jVl/MQoxGc2ELOXXGD8LLeKXviTSLR8To
6sQEQrUE3bYVfgbxkBQVm2e+6WqSiVz6jooKK0ETh+WkSXOynz1Y3e9xbi9DNqM/
5K3ffDK2ftzFqxuLBYCJjA==
-----END PRIVATE KEY-----
"""


async def seed_wxpay(session: AsyncSession, *, now: datetime) -> None:
    await wxpay.register_merchant(
        session,
        mchid=DEMO_MCHID,
        appid=DEMO_APPID,
        apiv3_key=DEMO_APIV3_KEY,
        serial_no=DEMO_SERIAL_NO,
        public_key_pem=DEMO_PUBLIC_KEY,
        now=now,
    )
