"""Credentials stay out of what aiohttp writes: the access log, and its answer to and log of a
request it can't parse (a URL over 8 KB quoted its ?access_token=... in both)."""

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from botstore.admin.auth import COOKIE, issue
from botstore.config import Config
from botstore.redaction import redact_url
from tests.api.cgi import get_token
from tests.live import LiveServer

PADDING = "a" * 9000  # past aiohttp's 8190-byte line limit


async def raw_request(host: str, port: int, head: str) -> tuple[int, bytes]:
    """Sends the request head exactly as given; the status and body of the answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head.encode("latin-1"))
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split(b" ", 2)[1]), body


def refused_requests(access_token: str, admin_token: str, session: str) -> list[str]:
    """Requests aiohttp can't parse whose faulty line carries a credential: four too long, three
    malformed. Its message quoted the line (up to 100 bytes of a long one)."""
    end = "Connection: close\r\n\r\n"
    return [
        f"GET /cgi-bin/user/get?access_token={access_token}&next_openid={PADDING} HTTP/1.1\r\n"
        f"Host: x\r\n{end}",
        f"GET /cgi-bin/user/get?next_openid={PADDING}&access_token={access_token} HTTP/1.1\r\n"
        f"Host: x\r\n{end}",
        f"GET /admin/ HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}={session}; p={PADDING}\r\n{end}",
        f"GET /admin/api/keywords HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {admin_token}{PADDING}\r\n{end}",
        f"GET /cgi-bin/user/get?access_token={access_token}\x01 HTTP/1.1\r\nHost: x\r\n{end}",
        f"GET /cgi-bin/user/get?access_token={access_token} HTTP/9.9\r\nHost: x\r\n{end}",
        f"GET /admin/api/keywords HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {admin_token}\x01\r\n{end}",
    ]


async def test_a_request_too_long_or_malformed_is_refused_without_quoting_it(
    client: TestClient, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    access_token = await get_token(client, config)
    session, _ = issue(config.admin.token)
    requests = refused_requests(access_token, config.admin.token, session)
    answers = [await raw_request(client.host, client.port, head) for head in requests]

    assert [status for status, _ in answers] == [400] * len(requests)
    assert [body for _, body in answers] == [
        b"the URL or a header is longer than 8190 bytes"
    ] * 4 + [b"the request is not well-formed HTTP"] * 3
    refusals = [r for r in caplog.records if r.getMessage().startswith("Error handling request")]
    assert len(refusals) == len(requests)  # still logged, with the client's address
    for secret in (access_token, config.admin.token, session):
        assert secret not in caplog.text
        assert all(secret.encode() not in body for _, body in answers)


async def test_the_access_log_masks_credentials_in_urls(
    client: TestClient, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    access_token = await get_token(client, config)
    listed = await client.get(
        "/cgi-bin/user/get",
        params={"access_token": access_token},
        headers={"Referer": f"http://example.com/page?secret=s3cret&access_token={access_token}"},
    )
    assert listed.status == 200

    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(
        "/cgi-bin/token?grant_type=client_credential&appid=wxba5fad812f8e6fb9&secret=*** " in line
        for line in lines
    )
    assert any(
        '"GET /cgi-bin/user/get?access_token=*** HTTP/1.1" 200' in line
        and '"http://example.com/page?secret=***&access_token=***"' in line
        for line in lines
    )
    for secret in (access_token, config.wechat.app_secret, "s3cret"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=abc",
            "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=***",
        ),
        (
            "/x?ACCESS_TOKEN=a&access%5Ftoken=b&access_token=c",
            "/x?ACCESS_TOKEN=***&access%5Ftoken=***&access_token=***",
        ),
        ("/x?a=1;token=t&code=c&js_code=j", "/x?a=1;token=***&code=***&js_code=***"),
        ("/x?next_openid=o&lang=zh_CN", "/x?next_openid=o&lang=zh_CN"),
        ("/x?access_token", "/x?access_token"),
        ("/plain", "/plain"),
        ("-", "-"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_serve_keeps_credentials_out_of_its_log_and_answers(tmp_path: Path) -> None:
    """The real thing: `serve --access-log`, its output read back."""
    server = LiveServer(tmp_path, flags=["--access-log"])
    server.start()
    try:
        token = "Tk" + "7" * 40
        too_long = asyncio.run(
            raw_request(
                "127.0.0.1",
                server.port,
                f"GET /cgi-bin/user/get?access_token={token}&x={PADDING} HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n",
            )
        )
        normal = asyncio.run(
            raw_request(
                "127.0.0.1",
                server.port,
                f"GET /cgi-bin/user/get?access_token={token} HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n",
            )
        )
    finally:
        server.stop()
    assert too_long == (400, b"the URL or a header is longer than 8190 bytes")
    assert normal[0] == 200 and b"40001" in normal[1]  # the token is unknown: errcode 40001
    log = server.log_path.read_text()
    assert "Error handling request from 127.0.0.1" in log
    assert '"GET /cgi-bin/user/get?access_token=*** HTTP/1.1" 200' in log
    assert token not in log
