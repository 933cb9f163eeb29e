"""Crypto diagnostics for the emulator: the inputs of every signature, the decrypted reply, and a
plain explanation when a bot's encrypted reply does not open (wechat-protocol.md §5)."""

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from botstore.wechat import CryptoError, parse_envelope, sign
from botstore.wechat.messages import MessageError

# What a decrypt failure was, for code; `CryptoDiagnostics.error` says it in words.
WRONG_KEY = "wrong_key"
WRONG_APPID = "wrong_appid"
BAD_PADDING = "bad_padding"
BAD_MSG_SIGNATURE = "bad_msg_signature"
NOT_BASE64 = "not_base64"
MALFORMED_ENVELOPE = "malformed_envelope"
MALFORMED_BUFFER = "malformed_buffer"
NOT_ENCRYPTED = "not_encrypted"


@dataclass(frozen=True, slots=True)
class SignatureInputs:
    """One SHA-1 signature: its inputs, the sorted string hashed, what it should be, what came."""

    name: str  # "signature", "msg_signature" (request) or "MsgSignature" (reply)
    inputs: tuple[tuple[str, str], ...]  # (what, value): token, timestamp, nonce[, Encrypt]
    given: str

    @property
    def sorted_joined(self) -> str:
        return "".join(sorted(value for _, value in self.inputs))

    @property
    def expected(self) -> str:
        return sign(*(value for _, value in self.inputs))

    @property
    def ok(self) -> bool:
        return self.expected == self.given

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "inputs": dict(self.inputs),
            "sorted_joined": self.sorted_joined,
            "expected": self.expected,
            "given": self.given,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class CryptoDiagnostics:
    """Everything crypto about one exchange, for the console's developer panel."""

    signature: SignatureInputs  # the request's query signature (every push)
    msg_signature: SignatureInputs | None = None  # the request's msg_signature (AES only)
    reply_signature: SignatureInputs | None = None  # the encrypted reply's MsgSignature
    reply_timestamp: str | None = None  # the encrypted reply's TimeStamp
    reply_encrypted: bool = False
    decrypted_xml: str | None = None  # the reply's plaintext, when it opened
    error_kind: str | None = None  # one of the constants above
    error: str | None = None  # a plain sentence on why the reply did not open

    def as_dict(self) -> dict[str, object]:
        return {
            "signature": self.signature.as_dict(),
            "msg_signature": self.msg_signature.as_dict() if self.msg_signature else None,
            "reply_signature": self.reply_signature.as_dict() if self.reply_signature else None,
            "reply_timestamp": self.reply_timestamp,
            "reply_encrypted": self.reply_encrypted,
            "decrypted_xml": self.decrypted_xml,
            "error_kind": self.error_kind,
            "error": self.error,
        }


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey (§5.2), leniently decoded as WeChat does."""
    return base64.b64decode(encoding_aes_key + "=")


def request_signatures(
    token: str, query: Mapping[str, str], encrypted: str | None
) -> tuple[SignatureInputs, SignatureInputs | None]:
    """The signature (and msg_signature) of a request as sent."""
    get = query.get
    stamp, nonce = get("timestamp", ""), get("nonce", "")
    signature = SignatureInputs(
        "signature",
        (("token", token), ("timestamp", stamp), ("nonce", nonce)),
        get("signature", ""),
    )
    if encrypted is None or not get("msg_signature"):
        return signature, None
    msg_signature = SignatureInputs(
        "msg_signature",
        (("token", token), ("timestamp", stamp), ("nonce", nonce), ("Encrypt", encrypted)),
        get("msg_signature", ""),
    )
    return signature, msg_signature


@dataclass(frozen=True, slots=True)
class ReplyOpening:
    """The result of opening an encrypted reply, step by step."""

    signature: SignatureInputs | None
    timestamp: str | None
    xml: str | None
    error_kind: str | None
    error: str | None


def open_reply(body: str, *, token: str, aes_key: bytes, app_id: str) -> ReplyOpening:
    """Check and decrypt an encrypted reply envelope, explaining the first thing that is wrong.

    Unlike WeChatCrypto.decrypt_reply it carries on past a bad MsgSignature, so the developer
    sees the XML as well as the signature's inputs."""
    try:
        fields = parse_envelope(body)
    except MessageError as error:
        return ReplyOpening(
            None, None, None, MALFORMED_ENVELOPE, f"The encrypted reply is not XML: {error}."
        )
    missing = [n for n in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce") if n not in fields]
    if missing:
        return ReplyOpening(
            None,
            fields.get("TimeStamp"),
            None,
            MALFORMED_ENVELOPE,
            "The encrypted reply lacks "
            + ", ".join(missing)
            + "; WeChat needs Encrypt, MsgSignature, TimeStamp and Nonce.",
        )
    encrypted = fields["Encrypt"].strip()
    stamp, nonce = fields["TimeStamp"].strip(), fields["Nonce"].strip()
    signature = SignatureInputs(
        "MsgSignature",
        (("token", token), ("TimeStamp", stamp), ("Nonce", nonce), ("Encrypt", encrypted)),
        fields["MsgSignature"].strip(),
    )
    xml, kind, error = decrypt_explained(encrypted, aes_key=aes_key, app_id=app_id)
    if kind is None and not signature.ok:
        kind = BAD_MSG_SIGNATURE
        error = (
            "The reply's MsgSignature is wrong: it should be the SHA-1 of the sorted token, "
            "TimeStamp, Nonce and Encrypt from the reply itself "
            f"(expected {signature.expected}, got {signature.given or 'nothing'}). "
            "Check the token, and that the reply's own TimeStamp and Nonce were signed."
        )
    return ReplyOpening(signature, stamp, xml, kind, error)


def decrypt_explained(
    encrypted: str, *, aes_key: bytes, app_id: str
) -> tuple[str | None, str | None, str | None]:
    """Decrypt an Encrypt value; (xml, None, None), or (xml or None, kind, plain explanation)."""
    try:
        ciphertext = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        return None, NOT_BASE64, "The Encrypt element is not base64."
    if not ciphertext or len(ciphertext) % 16:
        return (
            None,
            MALFORMED_BUFFER,
            f"The ciphertext is {len(ciphertext)} bytes, not a whole number of AES blocks.",
        )
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    layout = _layout(padded)
    if layout is None:
        return (
            None,
            WRONG_KEY,
            "The reply does not decrypt to WeChat's layout (16 random bytes, length, XML, "
            "AppID) under this EncodingAESKey: the bot most likely encrypts with a different "
            "EncodingAESKey.",
        )
    xml, tail = layout
    pad = padded[-1]
    expected_pad = 32 - (len(padded) - pad) % 32 if 1 <= pad <= 32 else None
    if not 1 <= pad <= 32 or padded[-pad:] != bytes([pad]) * pad:
        return (
            xml,
            BAD_PADDING,
            f"The reply decrypts, but its padding is wrong (last byte {pad}): WeChat pads with "
            "PKCS#7 over 32-byte blocks, not AES's usual 16 (wechat-protocol.md §5.3).",
        )
    if len(ciphertext) % 32 or pad != expected_pad:
        return (
            xml,
            BAD_PADDING,
            f"The reply decrypts, but it is padded to {len(ciphertext) % 32 or 16}-byte blocks "
            "(standard PKCS#7): WeChat pads to 32-byte blocks (wechat-protocol.md §5.3).",
        )
    app = tail[: len(tail) - pad]
    if app != app_id.encode():
        shown = app.decode(errors="replace") or "nothing"
        return (
            xml,
            WRONG_APPID,
            f"The reply was encrypted for AppID {shown!r}, but this account's AppID is "
            f"{app_id!r}: the bot is configured with another AppID.",
        )
    return xml, None, None


def _layout(padded: bytes) -> tuple[str, bytes] | None:
    """(xml, rest) when the plaintext has WeChat's layout with an XML message, else None."""
    if len(padded) < 20:
        return None
    (length,) = struct.unpack(">I", padded[16:20])
    if 20 + length > len(padded):
        return None
    try:
        xml = padded[20 : 20 + length].decode()
    except UnicodeDecodeError:
        return None
    if not xml.lstrip().startswith("<"):
        return None
    return xml, padded[20 + length :]


def explain_crypto_error(error: CryptoError) -> str:
    """A plain sentence for a CryptoError raised by botstore.wechat."""
    return {
        "MsgSignature mismatch": "The reply's MsgSignature does not match its content.",
        "appid mismatch": "The reply was encrypted for another AppID.",
        "bad padding": "The reply does not decrypt under this EncodingAESKey (bad padding).",
    }.get(error.reason, f"The encrypted reply could not be opened: {error.reason}.")
