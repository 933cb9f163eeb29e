"""Crypto diagnostics: signature inputs, the decrypted reply, and plain explanations of replies
that do not open (a wrong key, a wrong AppID, bad padding, a bad MsgSignature)."""

import base64
import struct

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from botstore.console.chat import render_diagnostics
from botstore.console.client import Emulator
from botstore.console.diagnostics import (
    BAD_MSG_SIGNATURE,
    BAD_PADDING,
    WRONG_APPID,
    WRONG_KEY,
    SignatureInputs,
    aes_key,
    decrypt_explained,
    open_reply,
)
from botstore.wechat import WeChatCrypto, sign
from tests.console.conftest import ACCOUNT, CRYPTO, FAN, CannedBot, text_xml

KEY = aes_key(ACCOUNT.encoding_aes_key)
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def encrypt_padded(xml: str, *, block: int = 32, app_id: str = ACCOUNT.app_id) -> str:
    """Encrypt as WeChat does, but with PKCS#7 over `block`-byte blocks."""
    body = xml.encode()
    full = b"R" * 16 + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = block - len(full) % block
    if (len(full) + pad) % 32 == 0 and block == 16:
        full += b" "  # make sure a 16-byte padder is caught: land on an odd number of 16s
        pad = block - len(full) % block
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    data = encryptor.update(full + bytes([pad]) * pad) + encryptor.finalize()
    return base64.b64encode(data).decode()


def test_signature_inputs_of_the_official_vector() -> None:
    inputs = SignatureInputs(
        "signature",
        (("token", "AAAAA"), ("timestamp", "1714036504"), ("nonce", "1514711492")),
        "f464b24fc39322e44b38aa78f5edd27bd1441696",
    )
    assert inputs.sorted_joined == "15147114921714036504AAAAA"
    assert inputs.ok
    assert inputs.as_dict()["inputs"] == {
        "token": "AAAAA",
        "timestamp": "1714036504",
        "nonce": "1514711492",
    }


def test_a_good_reply_opens() -> None:
    envelope = CRYPTO.encrypt_reply(text_xml("hi"), nonce="n", timestamp=1)
    opened = open_reply(envelope, token=ACCOUNT.token, aes_key=KEY, app_id=ACCOUNT.app_id)
    assert (opened.xml, opened.error_kind, opened.error) == (text_xml("hi"), None, None)
    assert opened.signature is not None and opened.signature.ok


def test_a_reply_under_another_key_is_explained_as_a_wrong_key() -> None:
    other = WeChatCrypto(ACCOUNT.token, OTHER_KEY, ACCOUNT.app_id)
    envelope = other.encrypt_reply(text_xml("hi"), nonce="n", timestamp=1)
    opened = open_reply(envelope, token=ACCOUNT.token, aes_key=KEY, app_id=ACCOUNT.app_id)
    assert opened.error_kind == WRONG_KEY
    assert opened.xml is None
    assert "different EncodingAESKey" in (opened.error or "")


def test_a_reply_for_another_appid_names_both() -> None:
    other = WeChatCrypto(ACCOUNT.token, ACCOUNT.encoding_aes_key, "wx0000000000000000")
    envelope = other.encrypt_reply(text_xml("hi"), nonce="n", timestamp=1)
    opened = open_reply(envelope, token=ACCOUNT.token, aes_key=KEY, app_id=ACCOUNT.app_id)
    assert opened.error_kind == WRONG_APPID
    assert "'wx0000000000000000'" in (opened.error or "")
    assert ACCOUNT.app_id in (opened.error or "")
    assert opened.xml == text_xml("hi")  # it did decrypt: show what the bot meant


def test_sixteen_byte_padding_is_explained() -> None:
    xml, kind, error = decrypt_explained(
        encrypt_padded(text_xml("hi"), block=16), aes_key=KEY, app_id=ACCOUNT.app_id
    )
    assert kind == BAD_PADDING
    assert "32-byte blocks" in (error or "")
    assert xml == text_xml("hi")


def test_corrupted_padding_bytes_are_explained() -> None:
    good = base64.b64decode(encrypt_padded(text_xml("hi")))
    decryptor = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).decryptor()
    plain = bytearray(decryptor.update(good) + decryptor.finalize())
    plain[-2] ^= 0x01  # one pad byte no longer matches the last
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    bad = base64.b64encode(encryptor.update(bytes(plain)) + encryptor.finalize()).decode()
    _, kind, error = decrypt_explained(bad, aes_key=KEY, app_id=ACCOUNT.app_id)
    assert kind == BAD_PADDING
    assert "padding is wrong" in (error or "")


def test_a_bad_msg_signature_still_shows_the_xml() -> None:
    value = CRYPTO.encrypt(text_xml("hi"))
    envelope = (
        f"<xml><Encrypt><![CDATA[{value}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{sign('wrong token', '1', 'n', value)}]]></MsgSignature>"
        "<TimeStamp>1</TimeStamp><Nonce><![CDATA[n]]></Nonce></xml>"
    )
    opened = open_reply(envelope, token=ACCOUNT.token, aes_key=KEY, app_id=ACCOUNT.app_id)
    assert opened.error_kind == BAD_MSG_SIGNATURE
    assert opened.xml == text_xml("hi")
    assert opened.signature is not None
    assert opened.signature.expected == sign(ACCOUNT.token, "1", "n", value)


async def test_the_emulator_explains_a_wrong_key_in_the_exchange(
    bot: Emulator, canned: CannedBot
) -> None:
    other = WeChatCrypto(ACCOUNT.token, OTHER_KEY, ACCOUNT.app_id)

    def answer(request: web.Request, xml: str) -> web.Response:
        stamp = int(request.query["timestamp"])
        return web.Response(text=other.encrypt_reply(text_xml("hi"), nonce="n", timestamp=stamp))

    canned.answer = answer
    exchange = await bot.say("hello", fan=FAN, encrypt=True)
    assert exchange.diagnostics is not None
    assert exchange.diagnostics.error_kind == WRONG_KEY
    assert exchange.reply is None
    assert exchange.problems and "different EncodingAESKey" in exchange.problems[0]
    assert any("different EncodingAESKey" in warning for warning in exchange.warnings)


async def test_signature_inputs_and_decrypted_xml_of_a_real_exchange(wechat: Emulator) -> None:
    exchange = await wechat.say("balance", fan="o_diag", encrypt=True)
    diagnostics = exchange.diagnostics
    assert diagnostics is not None
    assert diagnostics.signature.ok and diagnostics.signature.given == exchange.query["signature"]
    assert diagnostics.msg_signature is not None and diagnostics.msg_signature.ok
    assert dict(diagnostics.msg_signature.inputs)["Encrypt"] in exchange.request_body
    assert diagnostics.reply_encrypted and diagnostics.reply_signature is not None
    assert diagnostics.reply_signature.ok
    assert diagnostics.decrypted_xml == exchange.reply_xml
    assert "Your balance" in (diagnostics.decrypted_xml or "")
    assert diagnostics.error is None
    assert exchange.request_xml == exchange.message_xml != exchange.request_body

    shown = render_diagnostics(diagnostics)
    assert "msg_signature: sha1(sorted(token=AAAAA, timestamp=" in shown
    assert "MsgSignature: sha1(sorted(" in shown and "WRONG" not in shown
    assert "decrypted reply:\n<xml>" in shown

    plain = await wechat.say("balance", fan="o_diag")
    assert plain.diagnostics is not None and plain.diagnostics.msg_signature is None
    assert not plain.diagnostics.reply_encrypted
