"""WeChat message encryption (wechat-protocol.md §5): AES-256-CBC, 32-byte PKCS#7, envelopes."""

import base64
import binascii
import secrets
import string
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from botstore.wechat.messages import MessageError, cdata_section, parse_envelope
from botstore.wechat.signature import check_msg_signature, sign

# The error codes of Tencent's WXBizMsgCrypt sample (§5.8).
VALIDATE_SIGNATURE_ERROR = -40001
PARSE_XML_ERROR = -40002
ILLEGAL_AES_KEY = -40004
VALIDATE_APPID_ERROR = -40005
ENCRYPT_AES_ERROR = -40006
DECRYPT_AES_ERROR = -40007
ILLEGAL_BUFFER = -40008
DECODE_BASE64_ERROR = -40010

_BLOCK = 32
_RANDOM_ALPHABET = string.ascii_letters + string.digits


class CryptoError(Exception):
    """A failed signature, key or cipher step; `code` is the §5.8 code, str() the reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class DecryptedReply:
    """An encrypted passive reply, opened and verified (§5.7)."""

    xml: str
    timestamp: str
    nonce: str
    msg_signature: str
    encrypted: str


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError(ILLEGAL_AES_KEY, "key is not 43 characters")
    try:
        # The 43rd character has 2 unused low bits; the stdlib decoder ignores them (§5.2).
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise CryptoError(ILLEGAL_AES_KEY, "key is not base64") from None
    if len(key) != 32:
        raise CryptoError(ILLEGAL_AES_KEY, "key is not 32 bytes")
    return key


def _random_prefix() -> bytes:
    # Every implementation sends 16 ASCII alphanumerics here (§5.4).
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)).encode()


class WeChatCrypto:
    """Encrypts and decrypts for one account: token, EncodingAESKey(s) and AppID."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        app_id: str,
        *,
        previous_encoding_aes_key: str | None = None,
    ) -> None:
        self.token = token
        self.app_id = app_id
        self._key = _aes_key(encoding_aes_key)
        # Key rotation (§5.2): the previous key is only ever tried for decryption.
        self._previous_key = (
            _aes_key(previous_encoding_aes_key) if previous_encoding_aes_key else None
        )

    def encrypt(self, plaintext: str, *, random_prefix: bytes | None = None) -> str:
        """Encrypt a message for this AppID and return the base64 `Encrypt` value (§5.4)."""
        prefix = _random_prefix() if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise ValueError("random_prefix must be 16 bytes")
        body = plaintext.encode()
        full = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode()
        # PKCS#7 over 32-byte blocks, not AES's 16 (§5.3): a full block of 0x20 when aligned.
        pad = _BLOCK - len(full) % _BLOCK
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        ciphertext = encryptor.update(full + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode()

    def decrypt(self, encrypted: str) -> str:
        """Decrypt an `Encrypt` value, trying the previous key too, and check the AppID."""
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError(DECODE_BASE64_ERROR, "not base64") from None
        if not ciphertext or len(ciphertext) % 16:
            raise CryptoError(DECRYPT_AES_ERROR, "ciphertext length not a multiple of 16")
        try:
            return self._decrypt_with(self._key, ciphertext)
        except CryptoError as error:
            if self._previous_key is None:
                raise
            try:
                return self._decrypt_with(self._previous_key, ciphertext)
            except CryptoError:
                # The current key's complaint is the one worth reporting.
                raise error from None

    def _decrypt_with(self, key: bytes, ciphertext: bytes) -> str:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        # Pad bytes run 1..32 (§5.3). The SDKs read an out-of-range byte as 0 and would slice
        # `data[:-0]` to nothing; we refuse it, and also refuse inconsistent padding, which is
        # how a wrong key usually shows.
        if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise CryptoError(ILLEGAL_BUFFER, "bad padding")
        plain = padded[:-pad]
        if len(plain) < 20:
            raise CryptoError(ILLEGAL_BUFFER, "malformed buffer")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError(ILLEGAL_BUFFER, "malformed buffer")
        msg, app_id = plain[20 : 20 + length], plain[20 + length :]
        if app_id != self.app_id.encode():
            raise CryptoError(VALIDATE_APPID_ERROR, "appid mismatch")
        try:
            return msg.decode()
        except UnicodeDecodeError:
            raise CryptoError(ILLEGAL_BUFFER, "message is not UTF-8") from None

    def encrypt_reply(
        self,
        reply_xml: str,
        *,
        nonce: str,
        timestamp: int,
        random_prefix: bytes | None = None,
    ) -> str:
        """Encrypt a passive reply into the four-element envelope, rendered as wechatpy does."""
        encrypted = self.encrypt(reply_xml, random_prefix=random_prefix)
        signature = sign(self.token, str(timestamp), nonce, encrypted)
        return (
            "<xml>\n"
            f"<Encrypt>{cdata_section(encrypted)}</Encrypt>\n"
            f"<MsgSignature>{cdata_section(signature)}</MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce>{cdata_section(nonce)}</Nonce>\n"
            "</xml>"
        )

    def decrypt_reply(self, envelope: str | bytes) -> DecryptedReply:
        """Verify and open an encrypted passive reply (the platform's side of §5.7)."""
        fields = _envelope(envelope)
        values = {}
        for name in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce"):
            if name not in fields:
                raise CryptoError(PARSE_XML_ERROR, f"no {name} element")
            values[name] = fields[name].strip()
        if not check_msg_signature(
            self.token,
            values["MsgSignature"],
            values["TimeStamp"],
            values["Nonce"],
            values["Encrypt"],
        ):
            raise CryptoError(VALIDATE_SIGNATURE_ERROR, "MsgSignature mismatch")
        return DecryptedReply(
            xml=self.decrypt(values["Encrypt"]),
            timestamp=values["TimeStamp"],
            nonce=values["Nonce"],
            msg_signature=values["MsgSignature"],
            encrypted=values["Encrypt"],
        )

    def decrypt_message(
        self, *, body: bytes, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Verify `msg_signature` over the body's `Encrypt`, then decrypt it (§5.6)."""
        fields = _envelope(body)
        if "Encrypt" not in fields:
            raise CryptoError(PARSE_XML_ERROR, "no Encrypt element")
        return self.decrypt_signed(
            fields["Encrypt"], msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
        )

    def decrypt_signed(
        self, encrypted: str, *, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """`decrypt_message` for a body already parsed: its `Encrypt` element's text."""
        encrypted = encrypted.strip()
        # Authenticate before touching the ciphertext (§5.6 step 2).
        if not check_msg_signature(self.token, msg_signature, timestamp, nonce, encrypted):
            raise CryptoError(VALIDATE_SIGNATURE_ERROR, "msg_signature mismatch")
        return self.decrypt(encrypted)

    def encrypt_message(
        self,
        xml: str,
        *,
        timestamp: str,
        nonce: str,
        to_user_name: str,
        random_prefix: bytes | None = None,
        compatible_fields: str | None = None,
    ) -> tuple[str, str]:
        """Encrypt an inbound push as the platform does; return (body, msg_signature) (§2.2)."""
        encrypted = self.encrypt(xml, random_prefix=random_prefix)
        msg_signature = sign(self.token, timestamp, nonce, encrypted)
        element = f"<Encrypt>{cdata_section(encrypted)}</Encrypt>"
        if compatible_fields is None:
            body = f"<xml><ToUserName>{cdata_section(to_user_name)}</ToUserName>{element}</xml>"
            return body, msg_signature
        # Compatible mode: the plaintext message with Encrypt added inside its <xml> (§6.6).
        end = compatible_fields.rfind("</xml>")
        if end < 0:
            raise ValueError("compatible_fields is not an <xml> document")
        return compatible_fields[:end] + element + compatible_fields[end:], msg_signature


def _envelope(body: str | bytes) -> dict[str, str]:
    try:
        return parse_envelope(body)
    except MessageError as error:
        raise CryptoError(PARSE_XML_ERROR, str(error)) from None
