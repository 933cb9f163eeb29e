"""WeChat Pay API v3 on the wire: the Authorization header, RSA-SHA256 signatures, AEAD_AES_256_GCM
resources, the platform's keys and certificate, requestPayment's paySign. Knows no business.

Signed messages are lines, each ending in a newline: a request's method, URL (path and query as
sent), timestamp, nonce and body; a response's or notification's timestamp, nonce and body;
requestPayment's appid, timestamp, nonce and `prepay_id=...`. All RSASSA-PKCS1-v1_5 with SHA-256,
base64.
"""

import base64
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

SCHEME = "WECHATPAY2-SHA256-RSA2048"
AES_ALGORITHM = "AEAD_AES_256_GCM"
_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_NONCE_ALPHABET = string.ascii_letters + string.digits


class PayCryptoError(ValueError):
    """A key, header or ciphertext that can't be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="...",...`."""

    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def parse_authorization(header: str) -> Authorization:
    """The header's five parameters, in any order; PayCryptoError says what is missing."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME:
        raise PayCryptoError(f"the scheme must be {SCHEME}")
    params: dict[str, str] = {}
    for part in rest.split(","):
        found = _PARAM.fullmatch(part)
        if found is None:
            raise PayCryptoError('parameters are name="value", separated by commas')
        params[found.group(1)] = found.group(2)
    missing = [
        name
        for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if not params.get(name)
    ]
    if missing:
        raise PayCryptoError(f"missing {', '.join(missing)}")
    return Authorization(
        params["mchid"],
        params["nonce_str"],
        params["signature"],
        params["timestamp"],
        params["serial_no"],
    )


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n"


def response_message(timestamp: str, nonce: str, body: str) -> str:
    return f"{timestamp}\n{nonce}\n{body}\n"


def authorization_header(
    *, mchid: str, serial_no: str, private_key: rsa.RSAPrivateKey, message_parts: tuple[str, ...]
) -> str:
    """A merchant's Authorization header (tests, the console): `message_parts` are method, url,
    timestamp, nonce and body."""
    method, url, timestamp, nonce, body = message_parts
    signature = sign(private_key, request_message(method, url, timestamp, nonce, body))
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def sign(private_key: rsa.RSAPrivateKey, message: str) -> str:
    signature = private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(public_key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def encrypt_resource(apiv3_key: str, plaintext: str, *, associated_data: str) -> dict[str, str]:
    """AEAD_AES_256_GCM with the merchant's APIv3 key (its 32 characters are the key bytes) and a
    12-character nonce, as notifications and /v3/certificates carry it."""
    key = _aes_key(apiv3_key)
    iv = nonce(12)
    ciphertext = AESGCM(key).encrypt(iv.encode(), plaintext.encode(), associated_data.encode())
    return {
        "algorithm": AES_ALGORITHM,
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": iv,
    }


def decrypt_resource(apiv3_key: str, resource: dict[str, str]) -> str:
    try:
        return (
            AESGCM(_aes_key(apiv3_key))
            .decrypt(
                resource["nonce"].encode(),
                base64.b64decode(resource["ciphertext"]),
                resource.get("associated_data", "").encode(),
            )
            .decode()
        )
    except (InvalidTag, KeyError, ValueError) as error:
        raise PayCryptoError("the resource does not open with this APIv3 key") from error


def _aes_key(apiv3_key: str) -> bytes:
    key = apiv3_key.encode()
    if len(key) != 32:
        raise PayCryptoError("an APIv3 key is 32 bytes")
    return key


# --- keys and the platform certificate ---


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PayCryptoError("not an RSA private key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key of 2048 bits or more from PEM (SubjectPublicKeyInfo, or a certificate)."""
    try:
        if "BEGIN CERTIFICATE" in pem:
            key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        else:
            key = serialization.load_pem_public_key(pem.encode())
    except ValueError as error:
        raise PayCryptoError("not a PEM public key or certificate") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise PayCryptoError("not an RSA key")
    if key.key_size < 2048:
        raise PayCryptoError("an RSA key of 2048 bits or more")
    return key


def certificate_serial() -> str:
    """40 upper-case hex digits, the shape of a WeChat Pay certificate serial (under 2^159, the
    most X.509 allows)."""
    return secrets.choice("1234567") + secrets.token_hex(19).upper()


def self_signed_certificate(
    key: rsa.RSAPrivateKey, *, serial: str, not_before: datetime, not_after: datetime
) -> str:
    """The platform certificate (PEM) for `key`, with the given hex serial."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com (botstore emulation)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial, 16))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def certificate_validity(pem: str) -> tuple[datetime, datetime]:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc


def request_payment_message(appid: str, timestamp: str, nonce_str: str, prepay_id: str) -> str:
    """What paySign signs (wx.requestPayment with signType RSA)."""
    return f"{appid}\n{timestamp}\n{nonce_str}\nprepay_id={prepay_id}\n"


TIMESTAMP_WINDOW = timedelta(minutes=5)
