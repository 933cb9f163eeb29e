"""The WeChat Pay v3 wire format, checked against the wechatpayv3 SDK's own functions."""

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import utils as sdk

from botstore.wechat import pay


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return pay.new_private_key()


def test_the_sdks_authorization_header_parses_and_verifies(key) -> None:
    body = json.dumps({"appid": "wx1", "amount": {"total": 1}})
    header = sdk.build_authorization(
        "/v3/pay/transactions/jsapi", "POST", "1230000109", "5157F0", key, data=body
    )

    auth = pay.parse_authorization(header)
    message = pay.request_message(
        "POST", "/v3/pay/transactions/jsapi", auth.timestamp, auth.nonce_str, body
    )

    assert (auth.mchid, auth.serial_no) == ("1230000109", "5157F0")
    assert pay.verify(key.public_key(), message, auth.signature)
    assert not pay.verify(key.public_key(), message.replace("POST", "GET"), auth.signature)
    assert not pay.verify(key.public_key(), message, "not base64!")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic abc",
        'WECHATPAY2-SHA256-RSA2048 mchid="1"',
        "WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str=2",
        'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="",signature="s",timestamp="1",serial_no="A"',
    ],
)
def test_malformed_authorization_headers_are_refused(header: str) -> None:
    with pytest.raises(pay.PayCryptoError):
        pay.parse_authorization(header)


def test_a_signed_answer_verifies_with_the_sdk(key) -> None:
    message = pay.response_message("1700000000", "abc", '{"prepay_id":"wx1"}')

    signature = pay.sign(key, message)

    assert sdk.rsa_verify("1700000000", "abc", '{"prepay_id":"wx1"}', signature, key.public_key())


def test_a_resource_opens_with_the_sdks_aes_decrypt() -> None:
    apiv3_key = "a12d3924fd499edac8a5efc0123456ab"
    resource = pay.encrypt_resource(
        apiv3_key, '{"trade_state":"SUCCESS"}', associated_data="transaction"
    )

    opened = sdk.aes_decrypt(
        resource["nonce"], resource["ciphertext"], resource["associated_data"], apiv3_key
    )

    assert opened == '{"trade_state":"SUCCESS"}'
    assert resource["algorithm"] == "AEAD_AES_256_GCM"
    with pytest.raises(pay.PayCryptoError):
        pay.decrypt_resource("b" * 32, resource)


def test_the_request_payment_message_is_what_the_sdk_signs(key) -> None:
    parts = ["wxd678efh567hg6787", "1700000000", "nonce", "prepay_id=wx201410272009395522657a"]
    sdk_signature = sdk.rsa_sign(key, "\n".join(parts) + "\n")

    ours = pay.sign(key, pay.request_payment_message(*parts[:3], "wx201410272009395522657a"))

    assert ours == sdk_signature  # PKCS#1 v1.5 is deterministic


def test_public_keys_load_from_pem_or_a_certificate_and_small_keys_are_refused(key) -> None:
    certificate = pay.self_signed_certificate(
        key,
        serial=pay.certificate_serial(),
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2036, 1, 1, tzinfo=UTC),
    )

    assert pay.load_public_key(certificate).public_numbers() == key.public_key().public_numbers()
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(pay.PayCryptoError):
        pay.load_public_key(pay.public_pem(small.public_key()))
    with pytest.raises(pay.PayCryptoError):
        pay.load_public_key("not a key")
