"""Signature vectors of wechat-protocol.md §6, byte for byte."""

import pytest

from botstore.wechat import check_msg_signature, check_signature, sign, timestamp_is_fresh

ENCRYPT_6_3 = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcv"
    "ZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3F"
    "n2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSe"
    "OBrebufAlr7F9mFUPAJGj04="
)
ENCRYPT_6_5 = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
ENCRYPT_6_4 = (
    "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
)
ENCRYPT_6_10A = (
    "ELGduP2YcVatjqIS+eZbp7X/QCHPG5AZOTBArRPL9zBjOug4o1ylZpGgEeHCHIHc++oMdd+SpaGiNlxJzA2sfvTo4ZSV"
    "qa7WPddC6jDXnB5WZyHXdmCA+CfTCLol3dib"
)


def test_url_verification_signature_of_6_1() -> None:
    assert sign("AAAAA", "1714036504", "1514711492") == (
        "f464b24fc39322e44b38aa78f5edd27bd1441696"
    )
    assert check_signature(
        "AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492"
    )


def test_sign_sorts_before_concatenating() -> None:
    assert sign("1514711492", "AAAAA", "1714036504") == sign("AAAAA", "1714036504", "1514711492")


def test_plaintext_post_signature_of_6_2() -> None:
    assert check_signature(
        "AAAAA", "899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656"
    )


def test_safe_mode_signatures_of_6_3() -> None:
    assert check_signature(
        "AAAAA", "6c5c811b55cc85e0e1b54100749188c20beb3f5d", "1714112445", "415670741"
    )
    assert sign("AAAAA", "1714112445", "415670741", ENCRYPT_6_3) == (
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
    )
    assert check_msg_signature(
        "AAAAA",
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
        "1714112445",
        "415670741",
        ENCRYPT_6_3,
    )


def test_reply_msg_signature_of_6_4() -> None:
    assert sign("AAAAA", "1713424427", "415670741", ENCRYPT_6_4) == (
        "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
    )


def test_derived_msg_signature_of_6_5() -> None:
    assert check_msg_signature(
        "pamtest", "82c962d39941aa48552f90ef55aa323dc620cc10", "1409304348", "xxxxxx", ENCRYPT_6_5
    )


def test_real_push_signature_of_6_8() -> None:
    assert check_signature(
        "weixin", "35703636de2f9df2a77a662b68e521ce17c34db4", "1414243737", "1792106704"
    )


def test_full_block_msg_signature_of_6_10a() -> None:
    assert sign("AAAAA", "1713424427", "415670741", ENCRYPT_6_10A) == (
        "d1a0bae49d63812c132b69b22db621625e063d37"
    )


@pytest.mark.parametrize(
    "signature",
    [
        "f464b24fc39322e44b38aa78f5edd27bd1441697",
        "F464B24FC39322E44B38AA78F5EDD27BD1441696",
        "",
        "f464b24fc39322e44b38aa78f5edd27bd144169",
        "ß64b24fc39322e44b38aa78f5edd27bd1441696",
    ],
)
def test_check_signature_refuses_anything_but_the_exact_hex(signature: str) -> None:
    assert not check_signature("AAAAA", signature, "1714036504", "1514711492")


def test_check_signature_depends_on_the_token_timestamp_and_nonce() -> None:
    good = "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert not check_signature("AAAAB", good, "1714036504", "1514711492")
    assert not check_signature("AAAAA", good, "1714036505", "1514711492")
    assert not check_signature("AAAAA", good, "1714036504", "1514711493")


def test_check_msg_signature_covers_the_ciphertext() -> None:
    assert not check_msg_signature(
        "AAAAA",
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
        "1714112445",
        "415670741",
        ENCRYPT_6_3[:-4] + "AAA=",
    )


@pytest.mark.parametrize(
    ("timestamp", "now", "window", "fresh"),
    [
        ("1714036504", 1714036504, 300, True),
        ("1714036204", 1714036504, 300, True),
        ("1714036804", 1714036504, 300, True),
        ("1714036203", 1714036504, 300, False),
        ("1714036805", 1714036504, 300, False),
        ("1", 1714036504, 0, True),
        ("", 1714036504, 300, False),
        ("-5", 1714036504, 0, False),
        ("17140365O4", 1714036504, 0, False),
        ("١٢", 12, 0, False),
    ],
)
def test_timestamp_is_fresh(timestamp: str, now: int, window: int, fresh: bool) -> None:
    assert timestamp_is_fresh(timestamp, now=now, window_seconds=window) is fresh
