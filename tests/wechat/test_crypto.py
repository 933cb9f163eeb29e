"""AES framing of wechat-protocol.md §5 against the §6 vectors, byte for byte."""

import base64
import string
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from botstore.wechat import CryptoError, TextReply, WeChatCrypto, parse_message, parse_reply

KEY_A = "A" * 43
APP_ID_6_3 = "wxba5fad812f8e6fb9"
KEY_ABC = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

ENCRYPT_6_3 = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcv"
    "ZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3F"
    "n2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSe"
    "OBrebufAlr7F9mFUPAJGj04="
)
MSG_6_3 = (
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY",'
    '"CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
)

ENVELOPE_6_4 = (
    "<xml>\n"
    "<Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtz"
    "ve1L32tmxSQ==]]></Encrypt>\n"
    "<MsgSignature><![CDATA[1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1]]></MsgSignature>\n"
    "<TimeStamp>1713424427</TimeStamp>\n"
    "<Nonce><![CDATA[415670741]]></Nonce>\n"
    "</xml>"
)

ENCRYPT_6_5_1 = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
PLAIN_6_5_2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
    "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime>"
    "<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71"
    "s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Titl"
    "e><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
)
ENCRYPT_6_5_2 = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkup"
    "qcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvF"
    "b3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04s"
    "q7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9Oxch"
    "WVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ"
    "6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57c"
    "ExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)

ENCRYPT_6_6 = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
PLAIN_BODY_6_6 = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou"
    "2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]"
    "></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId></xml>"
)
BODY_6_6 = PLAIN_BODY_6_6[: -len("</xml>")] + f"<Encrypt><![CDATA[{ENCRYPT_6_6}]]></Encrypt></xml>"
MSG_6_6 = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)

ENCRYPT_6_7 = (
    "rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrk"
    "TqdFPwnhqbk+kIQ7rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0Bt"
    "Iu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjP"
    "nmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfG"
    "KBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz"
    "+CQzBIuikA=="
)
MSG_6_7 = (
    "<xml><URL><![CDATA[http://wechat.laravel.so/server]]></URL><ToUserName><![CDATA[asdasdasd]]>"
    "</ToUserName><FromUserName><![CDATA[asdasdasdsadasd]]></FromUserName><CreateTime>1234567898"
    "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>"
    "12345</MsgId></xml>"
)

ENCRYPT_6_8 = (
    "MNn4+jJ/VsFh2gUyKAaOJArwEVYCvVmyN0iXzNarP3O6vXzK62ft1/KG2/XPZ4y5bPWU/jfIfQxODRQ7sLkUsrDRqsWi"
    "muhIT8Eq+w4E/28m+XDAQKEOjWTQIOp1p6kNsIV1DdC3B+AtcKcKSNAeJDr7x7GHLx5DZYK09qQsYDOjP6R5NqebFjKt"
    "/NpEl/GU3gWFwG8LCtRNuIYdK5axbFSfmXbh5CZ6Bk5wSwj5fu5aS90cMAgUhGsxrxZTY562QR6c+3ydXxb+GHI5w+qA"
    "+eqJjrQqR7u5hS+1x5sEsA7vS+bZ5LYAR3+PZ243avQkGllQ+rg7a6TeSGDxxhvLw+mxxinyk88BNHkJnyK//hM1k9Pu"
    "vuLAASdaud4vzRQlAmnYOslZl8CN7gjCjV41skUTZv3wwGPxvEqtm/nf5fQ="
)
MSG_6_8 = (
    "<xml><ToUserName><![CDATA[gh_680bdefc8c5d]]></ToUserName>\n"
    "<FromUserName><![CDATA[oIDrpjpQ8j8mBuQ8nM26HWzNEZgg]]></FromUserName>\n"
    "<CreateTime>1414243737</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[?]]></Content>\n"
    "<MsgId>6074130599188426998</MsgId>\n"
    "</xml>"
)

KEY_6_9 = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID_6_9 = "wx49f0ab532d5d035a"
ECHO_6_9 = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)
ENCRYPT_6_9_IN = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTy"
    "eDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYy"
    "olBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWO"
    "MZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7ml"
    "sl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
PLAIN_6_9_OUT = (
    "<xml>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    "<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n"
    "<CreateTime>1411525903</CreateTime>\n"
    "</xml>"
)
ENCRYPT_6_9_OUT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGs"
    "L8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSj"
    "PUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJv"
    "FurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFY"
    "FMNMpatF9XiKzHo3"
)

ENCRYPT_6_10A = (
    "ELGduP2YcVatjqIS+eZbp7X/QCHPG5AZOTBArRPL9zBjOug4o1ylZpGgEeHCHIHc++oMdd+SpaGiNlxJzA2sfvTo4ZSV"
    "qa7WPddC6jDXnB5WZyHXdmCA+CfTCLol3dib"
)
INNER_6_10B = (
    "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggO"
    "C-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[text]]"
    "></MsgType><Content><![CDATA[hello]]></Content><MsgId>24500000000000001</MsgId></xml>"
)
ENCRYPT_6_10B = (
    "+qdx1OKCy+5JPCBFWw70tjV75psTsmZEe3qbP7skASiei8yLpX+fLLshtBcn6CtB84bSo3ZYC/+dl6YLOUVLrwCSaYTC"
    "TezNkbHzsaskokoebAD+htckppQZ2LqEi74WreYaz8ZH1GCsWrOBF9LmgUozXQq9llGP1xdPtIrulTn7qbfv5EcLCO2x"
    "srNNSEadOohhlOc6LKz/dC36w1AVFrr2mZPwWYSH/m7hVeLfizRcrW96fquy+SlN9qKFrQJFpEV4uYWD/Y/P0rQdh3I7"
    "LPIUf7McsV/zQ5wPnrH6fs1AqrajnIvfsxic70+6t2j4mGRlSMuiEUZedOH68cCYBZYq39H/4mlgeI6lis1nL/PZS/I3"
    "ylwR7XTmcXk8aeaJHqw1KPOrVGhjzIcUSnjVk4yZdd9bI/pq1o2BE/EfiE8="
)
BODY_6_10B = (
    "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"
    f"<Encrypt><![CDATA[{ENCRYPT_6_10B}]]></Encrypt></xml>"
)
INNER_6_10C = (
    "<xml><ToUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></ToUserName><FromUserName><![CDATA"
    "[gh_97417a04a28d]]></FromUserName><CreateTime>1714112446</CreateTime><MsgType><![CDATA[text]]"
    "></MsgType><Content><![CDATA[你好]]></Content></xml>"
)
ENVELOPE_6_10C = (
    "<xml>\n"
    "<Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbpz8MuyveLYcpTubNqs9OMe5qZmJZ3IR52Pb5c7gRXPlAwI08Ki9Fvl"
    "KJ64oIhxpVM3eZtoPzn3GWt44dThZlFmfL/WQa43Ed5gM/WpiwogY7RU+nKrK0nj6P/LH3Y4dty91VbcRCdkYw+Etrh"
    "BQSsJ+pyHHFlTMHRTWKeXcax6kGf0ax145rgYuB0UevRTFLBbSAKPHsXHYIB4ZcxLccr56JfgTndwjmwUq4bdIS13qa1"
    "ZrBTmHCqtjbHI1SY7CUEDtymFSrN6gw/1u5jWsyWLXJtnhsoQ12/Jd/8kph/Tuo+4xTgIBJg4mT/OR+pQL877Fc/q+Qe"
    "R2nqbqOfb/vOdNbQuGoBj0jG4WEg2Aj0jGg]]></Encrypt>\n"
    "<MsgSignature><![CDATA[dde14afda10777b5ad8ace0c3420f1804cadac77]]></MsgSignature>\n"
    "<TimeStamp>1714112446</TimeStamp>\n"
    "<Nonce><![CDATA[415670741]]></Nonce>\n"
    "</xml>"
)


def _safe_body(encrypted: str, to_user: str = "gh_97417a04a28d") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()


def _raw_aes(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(data) + worker.finalize()


def _official() -> WeChatCrypto:
    return WeChatCrypto("AAAAA", KEY_A, APP_ID_6_3)


# --- §6.3 ------------------------------------------------------------------------------------


def test_decrypts_the_safe_mode_vector_of_6_3() -> None:
    assert _official().decrypt(ENCRYPT_6_3) == MSG_6_3


def test_the_6_3_vector_really_carries_a_pad_of_19() -> None:
    padded = _raw_aes(bytes(32), base64.b64decode(ENCRYPT_6_3), decrypt=True)
    assert len(padded) == 224
    assert padded[-1] == 19
    assert padded[:16] == b"a8eedb185eb2fecf"
    assert struct.unpack(">I", padded[16:20]) == (167,)


def test_decrypt_message_verifies_and_opens_the_6_3_body() -> None:
    plain = _official().decrypt_message(
        body=_safe_body(ENCRYPT_6_3),
        msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
        timestamp="1714112445",
        nonce="415670741",
    )
    assert plain == MSG_6_3


# --- §6.4 ------------------------------------------------------------------------------------


def test_encrypt_reply_renders_the_exact_wechatpy_envelope_of_6_4() -> None:
    envelope = _official().encrypt_reply(
        '{"demo_resp":"good luck"}',
        nonce="415670741",
        timestamp=1713424427,
        random_prefix=b"707722b803182950",
    )
    assert envelope == ENVELOPE_6_4


def test_decrypt_reply_opens_the_6_4_envelope() -> None:
    opened = _official().decrypt_reply(ENVELOPE_6_4.encode())
    assert opened.xml == '{"demo_resp":"good luck"}'
    assert opened.timestamp == "1713424427"
    assert opened.nonce == "415670741"
    assert opened.msg_signature == "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
    assert opened.encrypted.startswith("ELGduP2YcVatjqIS")


def test_decrypt_reply_refuses_a_bad_msg_signature() -> None:
    tampered = ENVELOPE_6_4.replace("1b9339964ed2", "0b9339964ed2")
    with pytest.raises(CryptoError) as raised:
        _official().decrypt_reply(tampered)
    assert raised.value.code == -40001


def test_decrypt_reply_refuses_an_envelope_without_msg_signature() -> None:
    envelope = "<xml><Encrypt><![CDATA[abc]]></Encrypt><TimeStamp>1</TimeStamp></xml>"
    with pytest.raises(CryptoError) as raised:
        _official().decrypt_reply(envelope)
    assert raised.value.code == -40002


# --- §6.5 ------------------------------------------------------------------------------------


def _java() -> WeChatCrypto:
    return WeChatCrypto("pamtest", KEY_ABC, "wxb11529c136998cb6")


def test_encrypts_the_java_sample_vectors_of_6_5() -> None:
    crypto = _java()
    assert crypto.encrypt("我是中文abcd123", random_prefix=b"aaaabbbbccccdddd") == ENCRYPT_6_5_1
    assert crypto.encrypt(PLAIN_6_5_2, random_prefix=b"aaaabbbbccccdddd") == ENCRYPT_6_5_2


def test_decrypts_the_java_sample_vectors_of_6_5() -> None:
    crypto = _java()
    assert crypto.decrypt(ENCRYPT_6_5_1) == "我是中文abcd123"
    assert crypto.decrypt(ENCRYPT_6_5_2) == PLAIN_6_5_2


def test_decrypt_message_with_the_java_test_envelope_of_6_5() -> None:
    # The envelope format WxJava's test uses.
    body = _safe_body(ENCRYPT_6_5_1, "toUser")
    crypto = _java()
    plain = crypto.decrypt_message(
        body=body,
        msg_signature="82c962d39941aa48552f90ef55aa323dc620cc10",
        timestamp="1409304348",
        nonce="xxxxxx",
    )
    assert plain == "我是中文abcd123"
    with pytest.raises(CryptoError) as raised:
        crypto.decrypt_message(
            body=body, msg_signature="12345", timestamp="1409304348", nonce="xxxxxx"
        )
    assert raised.value.code == -40001


# --- §6.6 ------------------------------------------------------------------------------------


def _python_sample() -> WeChatCrypto:
    return WeChatCrypto("spamtest", KEY_ABC, "wx2c2769f8efd9abc2")


def test_decrypts_the_compatible_mode_body_of_6_6() -> None:
    plain = _python_sample().decrypt_message(
        body=BODY_6_6.encode(),
        msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa",
        timestamp="1409735669",
        nonce="1320562132",
    )
    assert plain == MSG_6_6
    assert parse_message(plain).fields["MsgId"] == "6054768590064713728"


def test_encrypt_message_builds_the_compatible_mode_body_of_6_6() -> None:
    body, msg_signature = _python_sample().encrypt_message(
        MSG_6_6,
        timestamp="1409735669",
        nonce="1320562132",
        to_user_name="gh_10f6c3c3ac5a",
        random_prefix=b"89465c840c5f116f",
        compatible_fields=PLAIN_BODY_6_6,
    )
    assert body == BODY_6_6
    assert msg_signature == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"


# --- §6.7, §6.8 ------------------------------------------------------------------------------


def test_decrypts_the_easywechat_vector_of_6_7_with_pad_21() -> None:
    crypto = WeChatCrypto("pamtest", KEY_ABC, "wxb11529c136998cb6")
    plain = crypto.decrypt_message(
        body=_safe_body(ENCRYPT_6_7, "asdasdasd"),
        msg_signature="4f3ad57b6989f09f4eb392acce4f9e93942ed890",
        timestamp="1458300676",
        nonce="260774613",
    )
    assert plain == MSG_6_7


def test_decrypts_the_real_push_of_6_8() -> None:
    crypto = WeChatCrypto("weixin", KEY_ABC, "wxbad0b45542aa0b5e")
    plain = crypto.decrypt_message(
        body=_safe_body(ENCRYPT_6_8, "gh_680bdefc8c5d"),
        msg_signature="6147984331daf7a1a9eed6e0ec3ba69055256154",
        timestamp="1414243737",
        nonce="1792106704",
    )
    assert plain == MSG_6_8
    message = parse_message(plain)
    assert message.fields["Content"] == "?"
    assert message.dedup_key == "msg:oIDrpjpQ8j8mBuQ8nM26HWzNEZgg:6074130599188426998"


# --- §6.9 (WeCom framing, corp id as appid) --------------------------------------------------


def _wecom() -> WeChatCrypto:
    return WeChatCrypto("123456", KEY_6_9, CORP_ID_6_9)


def test_decrypts_the_wecom_echo_of_6_9() -> None:
    crypto = _wecom()
    assert crypto.decrypt(ECHO_6_9) == "5927782489442352469"


def test_decrypt_message_of_6_9() -> None:
    plain = _wecom().decrypt_message(
        body=_safe_body(ENCRYPT_6_9_IN, CORP_ID_6_9),
        msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
        timestamp="1411525903",
        nonce="461056294",
    )
    message = parse_message(plain)
    assert message.fields["Content"] == "test"
    assert message.from_user == "messense"
    assert message.fields["MsgId"] == "4363689963896700987"
    assert message.fields["AgentID"] == "1"


def test_encrypts_the_wecom_reply_of_6_9() -> None:
    envelope = _wecom().encrypt_reply(
        PLAIN_6_9_OUT,
        nonce="461056294",
        timestamp=1411525903,
        random_prefix=b"1234567890123456",
    )
    assert f"<Encrypt><![CDATA[{ENCRYPT_6_9_OUT}]]></Encrypt>" in envelope
    assert (
        "<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>"
        in envelope
    )


# --- §6.10 -----------------------------------------------------------------------------------


def test_full_block_padding_of_6_10a_gives_96_bytes() -> None:
    encrypted = _official().encrypt(
        "abcdefghijklmnopqrstuvwxyz", random_prefix=b"707722b803182950"
    )
    assert encrypted == ENCRYPT_6_10A
    raw = base64.b64decode(encrypted)
    assert len(raw) == 96
    assert _raw_aes(bytes(32), raw, decrypt=True)[-32:] == b"\x20" * 32
    assert _official().decrypt(encrypted) == "abcdefghijklmnopqrstuvwxyz"
    envelope = _official().encrypt_reply(
        "abcdefghijklmnopqrstuvwxyz",
        nonce="415670741",
        timestamp=1713424427,
        random_prefix=b"707722b803182950",
    )
    assert "d1a0bae49d63812c132b69b22db621625e063d37" in envelope


def test_encrypt_message_builds_the_safe_mode_push_of_6_10b() -> None:
    body, msg_signature = _official().encrypt_message(
        INNER_6_10B,
        timestamp="1714112445",
        nonce="415670741",
        to_user_name="gh_97417a04a28d",
        random_prefix=b"a8eedb185eb2fecf",
    )
    assert body == BODY_6_10B
    assert msg_signature == "4cce08adcbb5e4ebb79ec0bc704dd2e62bac84b1"


def test_decrypt_message_opens_the_safe_mode_push_of_6_10b() -> None:
    plain = _official().decrypt_message(
        body=BODY_6_10B.encode(),
        msg_signature="4cce08adcbb5e4ebb79ec0bc704dd2e62bac84b1",
        timestamp="1714112445",
        nonce="415670741",
    )
    assert plain == INNER_6_10B
    assert parse_message(plain).dedup_key == "msg:o9AgO5Kd5ggOC-bXrbNODIiE3bGY:24500000000000001"


def test_encrypt_reply_renders_the_exact_envelope_of_6_10c() -> None:
    envelope = _official().encrypt_reply(
        INNER_6_10C, nonce="415670741", timestamp=1714112446, random_prefix=b"707722b803182950"
    )
    assert envelope == ENVELOPE_6_10C


def test_decrypt_reply_of_6_10c_parses_as_a_text_reply() -> None:
    opened = _official().decrypt_reply(ENVELOPE_6_10C)
    assert opened.xml == INNER_6_10C
    parsed = parse_reply(opened.xml)
    assert parsed.to_user == "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
    assert parsed.reply == TextReply(content="你好")


# --- negative tests listed at the end of §6 --------------------------------------------------


def test_wrong_msg_signature_is_refused_before_decrypting(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: WeChatCrypto, encrypted: str) -> str:
        raise AssertionError("decrypted before the signature was checked")

    monkeypatch.setattr(WeChatCrypto, "decrypt", explode)
    with pytest.raises(CryptoError) as raised:
        _official().decrypt_message(
            body=_safe_body("not base64 at all!"),
            msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
            timestamp="1714112445",
            nonce="415670741",
        )
    assert raised.value.code == -40001


def test_wrong_appid_is_refused() -> None:
    crypto = WeChatCrypto("AAAAA", KEY_A, "wx0000000000000000")
    with pytest.raises(CryptoError) as raised:
        crypto.decrypt_message(
            body=_safe_body(ENCRYPT_6_3),
            msg_signature="046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
            timestamp="1714112445",
            nonce="415670741",
        )
    assert raised.value.code == -40005
    assert str(raised.value) == "appid mismatch"


@pytest.mark.parametrize(
    "key",
    [
        "A" * 42,
        "A" * 44,
        "",
        "A" * 42 + "!",
        "A" * 42 + "=",
        "AAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_bad_encoding_aes_key_is_refused(key: str) -> None:
    with pytest.raises(CryptoError) as raised:
        WeChatCrypto("AAAAA", key, APP_ID_6_3)
    assert raised.value.code == -40004


def test_bad_previous_key_is_refused_too() -> None:
    with pytest.raises(CryptoError) as raised:
        WeChatCrypto("AAAAA", KEY_A, APP_ID_6_3, previous_encoding_aes_key="short")
    assert raised.value.code == -40004


def test_key_with_nonzero_spare_bits_is_accepted() -> None:
    # The 43rd character "G" of the sample key has non-zero unused bits (§5.2).
    assert _java().decrypt(ENCRYPT_6_5_1) == "我是中文abcd123"


@pytest.mark.parametrize("length", [20, 15, 33, 100])
def test_ciphertext_length_not_a_multiple_of_16_is_refused(length: int) -> None:
    with pytest.raises(CryptoError) as raised:
        _official().decrypt(base64.b64encode(bytes(length)).decode())
    assert raised.value.code == -40007
    assert str(raised.value) == "ciphertext length not a multiple of 16"


def test_empty_ciphertext_is_refused() -> None:
    with pytest.raises(CryptoError) as raised:
        _official().decrypt("")
    assert raised.value.code == -40007


def test_text_that_is_not_base64_is_refused() -> None:
    with pytest.raises(CryptoError) as raised:
        _official().decrypt("!!!!")
    assert raised.value.code == -40010
    assert str(raised.value) == "not base64"


def _framed(msg: bytes, app_id: bytes, pad: int, *, pad_len: int | None = None) -> str:
    full = b"0123456789abcdef" + struct.pack(">I", len(msg)) + msg + app_id
    pad_len = pad if pad_len is None else pad_len
    filler = (-(len(full) + pad_len)) % 32
    data = full + b"x" * filler + bytes([pad]) * pad_len
    return base64.b64encode(_raw_aes(bytes(32), data)).decode()


@pytest.mark.parametrize("pad", [0, 33, 64, 255])
def test_pad_byte_out_of_range_is_refused(pad: int) -> None:
    with pytest.raises(CryptoError) as raised:
        _official().decrypt(_framed(b"hello", APP_ID_6_3.encode(), pad, pad_len=5))
    assert raised.value.code == -40008


def test_pad_of_32_is_accepted() -> None:
    msg = b"x" * (64 - 20 - len(APP_ID_6_3))
    assert _official().decrypt(_framed(msg, APP_ID_6_3.encode(), 32)) == msg.decode()


def test_inconsistent_padding_is_refused() -> None:
    encrypted = _framed(b"hello", APP_ID_6_3.encode(), 4, pad_len=1)
    with pytest.raises(CryptoError) as raised:
        _official().decrypt(encrypted)
    assert raised.value.code == -40008


def test_length_prefix_past_the_end_is_refused() -> None:
    full = b"0123456789abcdef" + struct.pack(">I", 1000) + b"hi"
    data = full + bytes([32 - len(full)]) * (32 - len(full))
    with pytest.raises(CryptoError) as raised:
        _official().decrypt(base64.b64encode(_raw_aes(bytes(32), data)).decode())
    assert raised.value.code == -40008
    assert str(raised.value) == "malformed buffer"


def test_buffer_shorter_than_the_header_is_refused() -> None:
    data = b"short" + bytes([27]) * 27
    with pytest.raises(CryptoError) as raised:
        _official().decrypt(base64.b64encode(_raw_aes(bytes(32), data)).decode())
    assert raised.value.code == -40008


def test_wrong_key_does_not_decrypt() -> None:
    other = WeChatCrypto("AAAAA", KEY_ABC, APP_ID_6_3)
    with pytest.raises(CryptoError) as raised:
        other.decrypt(ENCRYPT_6_3)
    assert raised.value.code in {-40005, -40008}


# --- key rotation (§5.2) ---------------------------------------------------------------------


def test_message_encrypted_with_the_previous_key_still_decrypts() -> None:
    old = WeChatCrypto("AAAAA", KEY_A, APP_ID_6_3)
    rotated = WeChatCrypto("AAAAA", KEY_ABC, APP_ID_6_3, previous_encoding_aes_key=KEY_A)
    assert rotated.decrypt(ENCRYPT_6_3) == MSG_6_3
    assert rotated.decrypt(old.encrypt("after rotation")) == "after rotation"
    assert rotated.decrypt(rotated.encrypt("current")) == "current"


def test_previous_key_is_not_tried_when_absent_or_empty() -> None:
    for previous in (None, ""):
        crypto = WeChatCrypto("AAAAA", KEY_ABC, APP_ID_6_3, previous_encoding_aes_key=previous)
        with pytest.raises(CryptoError):
            crypto.decrypt(ENCRYPT_6_3)


def test_rotation_reports_the_current_keys_error_when_both_fail() -> None:
    rotated = WeChatCrypto("AAAAA", KEY_ABC, "wx0000000000000000", previous_encoding_aes_key=KEY_A)
    with pytest.raises(CryptoError) as raised:
        rotated.decrypt(ENCRYPT_6_3)
    assert raised.value.code in {-40005, -40008}


def test_replies_are_encrypted_with_the_current_key() -> None:
    rotated = WeChatCrypto("AAAAA", KEY_ABC, APP_ID_6_3, previous_encoding_aes_key=KEY_A)
    current = WeChatCrypto("AAAAA", KEY_ABC, APP_ID_6_3)
    envelope = rotated.encrypt_reply("<xml/>", nonce="1", timestamp=2)
    assert current.decrypt_reply(envelope).xml == "<xml/>"


# --- envelopes and randomness ----------------------------------------------------------------


def test_random_prefix_is_16_fresh_alphanumerics() -> None:
    crypto = _official()
    first, second = crypto.encrypt("same"), crypto.encrypt("same")
    assert first != second
    prefix = _raw_aes(bytes(32), base64.b64decode(first), decrypt=True)[:16]
    assert set(prefix.decode()) <= set(string.ascii_letters + string.digits)


def test_random_prefix_must_be_16_bytes() -> None:
    with pytest.raises(ValueError):
        _official().encrypt("x", random_prefix=b"short")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<xml><ToUserName>x</ToUserName>", "malformed XML"),
        (b"<xml><ToUserName>gh</ToUserName></xml>", "no Encrypt element"),
        (
            b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
            "DTD and entities are not allowed",
        ),
    ],
)
def test_unparsable_body_is_a_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(CryptoError) as raised:
        _official().decrypt_message(body=body, msg_signature="x", timestamp="1", nonce="2")
    assert raised.value.code == -40002
    assert str(raised.value) == reason


def test_encrypt_message_round_trips_through_decrypt_message() -> None:
    crypto = _official()
    xml = "<xml><Content><![CDATA[中文 ]]]]><![CDATA[> & <]]></Content></xml>"
    body, msg_signature = crypto.encrypt_message(
        xml, timestamp="1700000000", nonce="123456789", to_user_name="gh_97417a04a28d"
    )
    opened = crypto.decrypt_message(
        body=body.encode(), msg_signature=msg_signature, timestamp="1700000000", nonce="123456789"
    )
    assert opened == xml


def test_encrypt_message_refuses_compatible_fields_without_xml_end() -> None:
    with pytest.raises(ValueError):
        _official().encrypt_message(
            "<xml/>", timestamp="1", nonce="2", to_user_name="gh", compatible_fields="<xml/>"
        )
