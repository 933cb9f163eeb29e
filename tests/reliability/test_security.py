"""Hostile use: SQL injection in chat commands and admin fields, template injection in merchant
templates, path traversal on static and page routes, admin routes without the token, and one fan
acting on another's orders. Each is refused (with the reason) and changes nothing.

Routes are enumerated from the app's router when the test runs, so routes added later are
covered without editing this file.
"""

import asyncio
import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from botstore.console.client import Emulator
from botstore.db import create_engine, migrate
from botstore.keys import dispatcher_key
from botstore.seed import seed_demo
from botstore.wechat import build_message_xml
from tests.webhook.westore import first_id, list_product, open_store, say, topup

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "change-me"  # Config()'s admin token; the fixture's config keeps it


@pytest.fixture
async def demo(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """The demo data: stores, products, merchants, articles, wealth products, keyword rules."""
    async with sessions() as session, session.begin():
        await seed_demo(session, now=clock.now())


# --- snapshots: "nothing changed" ---------------------------------------------------------------

# Every message is logged and its dedup key kept, and the fan's last_seen_at moves: not effects.
MESSAGE_BOOKKEEPING = {"inbound_message", "processed_message", "fan"}


async def snapshot(
    sessions: async_sessionmaker[AsyncSession], *, skip: set[str] = frozenset()
) -> dict[str, list[str]]:
    """Every row of every table (as the database has them, whatever the models say)."""
    async with sessions() as session:
        connection = await session.connection()
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        return {
            name: sorted(map(repr, (await connection.execute(text(f'SELECT * FROM "{name}"')))))
            for name in sorted(names)
            if name not in skip
        }


def templates_digest() -> str:
    """Reply templates live on disk too: an admin route must not write them unauthenticated."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    return {
        name: (set(after.get(name, [])) ^ set(rows))
        for name, rows in before.items()
        if after.get(name) != rows
    } | dict.fromkeys(after.keys() - before.keys(), "new table")


# --- SQL injection in chat commands and admin fields ----------------------------------------

INJECTED_COMMANDS = [
    "buy 1;DROP TABLE fan",
    "buy 1 1;DELETE FROM account",
    "tip 1 1' OR '1'='1",
    "tip 1' OR 1=1 -- 5",
    "topup 1);UPDATE account SET balance_fen=99999999;--",
    "ship 1 OR 1=1",
    "received 1;UPDATE \"order\" SET status='completed'",
    "cancel 0x1",
    "invest 1 50 UNION SELECT * FROM account",
    "store 1' UNION SELECT openid FROM fan--",
    "read #1/**/OR/**/1=1",
    "pay TEA01' OR '1'='1 5",
]


async def test_sql_injection_in_commands_gets_the_usage_and_changes_nothing(
    wechat: Emulator, client: TestClient, sessions, demo: None
) -> None:
    commands = client.app[dispatcher_key].commands
    await topup(wechat, "o_mallory", "50")
    before = await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)
    for command in INJECTED_COMMANDS:
        reply = await say(wechat, "o_mallory", command)
        usage = commands[command.split()[0]].usage
        assert reply.endswith(f"Usage: {usage}"), (command, reply)
        assert "Traceback" not in reply and "sqlalchemy" not in reply.lower()
    assert changed(before, await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)) == {}
    assert (await say(wechat, "o_mallory", "balance")) == "Your balance: ¥50.00"


async def test_sql_injection_in_free_text_is_stored_as_text(wechat: Emulator, sessions) -> None:
    # `open <store name>` takes the rest of the line: the name is data, bound as a parameter.
    payloads = ["x');DROP TABLE store;--", "1' OR '1'='1", '"; DELETE FROM account; --']
    for index, payload in enumerate(payloads):
        reply = await say(wechat, f"o_mallory_{index}", f"open {payload}")
        assert "is open" in reply, reply
        async with sessions() as session:
            statement = text("SELECT name FROM store WHERE id = :id")
            stored = await session.exec(statement.bindparams(id=first_id(reply)))
            assert stored.one()[0] == payload
    async with sessions() as session:
        tables = await (await session.connection()).run_sync(
            lambda sync: inspect(sync).get_table_names()
        )
    assert {"fan", "store", "account", "ledger_entry"} <= set(tables)
    balance = (await say(wechat, "o_mallory_0", "balance")).splitlines()
    assert balance[0] == "Your balance: ¥0.00"
    assert balance[1].startswith('Store #1 "x\');DROP TABLE store;--": ¥0.00 settled')


def admin_headers(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


INJECTIONS = ["x'; DROP TABLE fan; --", "1 OR 1=1", "' UNION SELECT * FROM account --", "\x00"]


def admin_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route under /admin, sub-apps included; no HEAD."""
    return [(m, p) for m, p in all_routes(app) if p.startswith("/admin")]


def all_routes(app: web.Application) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(router: web.UrlDispatcher) -> None:
        for resource in router.resources():
            subapp = getattr(resource, "_app", None)
            if isinstance(subapp, web.Application):
                walk(subapp.router)
                continue
            if isinstance(resource, web.StaticResource):
                continue  # traversal tests below
            for route in resource:
                if route.method != "HEAD":
                    found.append((route.method, resource.canonical))

    walk(app.router)
    return sorted(set(found))


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", quote(value, safe=""), path)


async def test_sql_injection_in_admin_fields_changes_no_table(
    client: TestClient, sessions, demo: None
) -> None:
    """Every admin write route, authorised, given injections in ids and in the usual fields:
    refused or stored as text; never a 500, never a dropped table or a lost row."""

    async def counts() -> dict[str, int]:
        async with sessions() as session:
            connection = await session.connection()
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            return {
                name: (
                    await connection.execute(text(f'SELECT count(*) FROM "{name}"'))
                ).scalar_one()
                for name in names
            }

    before = await counts()
    fields = ["name", "title", "pattern", "content", "code", "description", "scene", "url"]
    tried = 0
    for method, path in admin_routes(client.app):
        if method not in ("POST", "PUT", "PATCH") or not path.startswith("/admin/api/"):
            continue
        for injection in INJECTIONS:
            body = dict.fromkeys(fields, injection) | {"match_type": "exact"}
            response = await client.request(
                method, fill(path, injection), json=body, headers=admin_headers()
            )
            tried += 1
            assert response.status < 500, (method, path, injection, await response.text())
    after = await counts()
    assert tried, "no admin write routes found"
    assert set(after) == set(before), "a table was dropped or created"
    assert {name: n for name, n in after.items() if n < before[name]} == {}, "rows were lost"


# --- template injection in merchant templates ----------------------------------------------------

HOSTILE_TEMPLATES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ text.__class__.__base__.__subclasses__() }}",
    "{{ '{0.__class__.__mro__}'.format(text) }}",
    "{{ openid.format.__globals__ }}",
    "{{ config }}{{ config.admin.token }}",
    "{{ request.app }}",
    "{{ range(10**9) | list | length }}",
    "{{ [].append(1) }}{{ {}.update(a=1) }}",
    "{{ namespace.__init__.__globals__ }}",
]
LEAKS = ["<class", "__", "mro", "subclasses", "uid=", "environ", "Traceback", TOKEN]


def leaked(reply: str, config: Config) -> list[str]:
    secrets = [config.wechat.token, config.wechat.encoding_aes_key, config.database.url]
    return [marker for marker in [*LEAKS, *secrets] if marker and marker in reply]


async def test_template_injection_in_keyword_rules_is_refused_or_harmless(
    client: TestClient, wechat: Emulator, config: Config
) -> None:
    for index, source in enumerate(HOSTILE_TEMPLATES):
        created = await client.post(
            "/admin/api/keywords",
            json={"match_type": "exact", "pattern": f"ssti{index}", "content": source},
            headers=admin_headers(),
        )
        body = await created.text()
        assert created.status in (201, 400), (source, created.status, body)
        if created.status == 400:
            continue  # refused at save, with the reason
        preview = await client.post(
            "/admin/api/keywords/preview",
            json={"match_type": "exact", "pattern": "p", "content": source, "text": "p"},
            headers=admin_headers(),
        )
        assert preview.status in (200, 400), (source, await preview.text())
        if preview.status == 200:  # a 400 names the refused attribute: that is the reason
            assert not leaked(await preview.text(), config), (source, await preview.text())

        exchange = await wechat.say(f"ssti{index}", fan="o_fan")
        assert exchange.status == 200 and not exchange.problems, (source, exchange.body)
        assert not leaked(exchange.content, config), (source, exchange.content)

    # A fan's text is data to a template, never a template itself.
    created = await client.post(
        "/admin/api/keywords",
        json={"match_type": "contains", "pattern": "echo:", "content": "You said: {{ text }}"},
        headers=admin_headers(),
    )
    assert created.status == 201, await created.text()
    said = "echo: {{ 7*7 }} {% raw %} {{ ''.__class__ }}"
    assert (await wechat.say(said, fan="o_fan")).content == f"You said: {said}"


async def test_template_injection_in_the_welcome_and_default_replies_is_harmless(
    client: TestClient, wechat: Emulator, config: Config
) -> None:
    listed = await client.get("/admin/api/replies", headers=admin_headers())
    assert listed.status == 200, await listed.text()
    names = [reply["name"] for reply in (await listed.json())["replies"]]
    assert names
    for source in HOSTILE_TEMPLATES:
        for name in names:
            saved = await client.put(
                f"/admin/api/replies/{name}",
                json={"reply_type": "text", "content": source},
                headers=admin_headers(),
            )
            assert saved.status in (200, 400), (source, await saved.text())
        replies = [
            await wechat.say("no command looks like this", fan="o_fan"),
            await wechat.event("subscribe", fan="o_fan", create_time=wechat.now() + 1),
        ]
        for exchange in replies:
            assert exchange.status == 200, (source, exchange.body)
            assert not leaked(exchange.content, config), (source, exchange.content)


# --- path traversal ---------------------------------------------------------------------------

TRAVERSALS = [
    "../botstore.db",
    "../../config.toml",
    "../../../config.toml",
    "../../db.py",
    "..%2f..%2fconfig.toml",
    "..%2f..%2f..%2fconfig.toml",
    "%2e%2e/%2e%2e/config.toml",
    "%2e%2e%2f%2e%2e%2fconfig.toml",
    "..%252f..%252fconfig.toml",
    "....//....//config.toml",
    "..\\..\\config.toml",
    "%c0%ae%c0%ae/config.toml",
    "../../../../../../etc/passwd",
    "..%00/config.toml",
    "/etc/passwd",
]
# What only the files a traversal aims at contain: config.toml, the database, /etc/passwd,
# pyproject.toml, botstore/db.py.
FILE_MARKERS = [
    b"[wechat]",
    b"encoding_aes_key",
    b"SQLite format 3",
    b"root:x:0:0",
    b"[project]",
    b"SQLITE_BUSY_TIMEOUT_MS",
]


async def raw_get(client: TestClient, target: str) -> tuple[int, str, bytes]:
    """GET with the request line exactly as given: a client library would normalise the dots."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {client.host}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head.decode("latin-1"), body


def traversal_targets(app: web.Application) -> Iterator[str]:
    """Each traversal under every static prefix and in every path parameter of a GET route,
    and under the paths the issue names."""
    prefixes = {"/static", "/console/static", "/admin/static", "/articles", "/stores"}

    def walk(router: web.UrlDispatcher) -> None:
        for resource in router.resources():
            subapp = getattr(resource, "_app", None)
            if isinstance(subapp, web.Application):
                walk(subapp.router)
            elif isinstance(resource, web.StaticResource):
                prefixes.add(resource.canonical.rstrip("/"))

    walk(app.router)
    for prefix in sorted(prefixes):
        for traversal in TRAVERSALS:
            yield f"{prefix}/{traversal}"
    for method, path in all_routes(app):
        if method == "GET" and "{" in path:
            for traversal in TRAVERSALS:
                yield re.sub(r"\{[^}]+\}", lambda _, t=traversal: t, path, count=1)


@pytest.fixture
async def sqlite_client(tmp_path: Path, aiohttp_client, clock: FrozenClock) -> TestClient:
    """The app on a migrated SQLite file: routing and files, not the engine, are under test."""
    url = f"sqlite+aiosqlite:///{tmp_path}/traversal.db"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    config = Config().replace(database={"url": url, "seed_demo": False})
    return await aiohttp_client(create_app(config, clock=clock))


async def test_path_traversal_never_serves_a_file(sqlite_client: TestClient) -> None:
    tried = 0
    for target in traversal_targets(sqlite_client.app):
        status, head, body = await raw_get(sqlite_client, target)
        tried += 1
        assert status in (400, 401, 403, 404) or (
            # An admin page: strangers are sent to sign in first.
            status in (302, 303) and "Location: /admin/login" in head
        ), (target, status, body[:200])
        for marker in FILE_MARKERS:
            assert marker not in body, (target, marker)
    assert tried > 50
    # It would all pass if static files were never served: they are.
    directory = ROOT / "botstore/static/admin"
    name = next(path.name for path in sorted(directory.iterdir()) if path.is_file())
    status, _, body = await raw_get(sqlite_client, f"/admin/static/{name}")
    assert status == 200 and body == (directory / name).read_bytes()


# --- admin routes without the token ------------------------------------------------------------

PUBLIC_ADMIN = ("/admin/login", "/admin/static")
BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"bearer{TOKEN}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"X-Admin-Token": TOKEN},
    {"Cookie": "botstore_admin=1.forged.signature"},
    {"Cookie": f"botstore_admin={TOKEN}"},
]


@pytest.mark.usefixtures("unlimited_token_tries")
async def test_admin_routes_without_the_token_get_401_and_change_nothing(
    client: TestClient, sessions, demo: None
) -> None:
    before, files = await snapshot(sessions), templates_digest()
    routes = [
        (method, path)
        for method, path in admin_routes(client.app)
        if not path.startswith(PUBLIC_ADMIN)
    ]
    assert any(path.startswith("/admin/api/") for _, path in routes)
    for method, path in routes:
        url = fill(path, "1") + f"?token={TOKEN}&access_token={TOKEN}"
        for headers in BAD_CREDENTIALS:
            response = await client.request(
                method,
                url,
                json={"days": 30, "name": "pwned", "content": "pwned", "amount": 100},
                headers=headers,
                allow_redirects=False,
            )
            body = await response.text()
            if path.startswith("/admin/api/"):
                assert response.status == 401, (method, path, headers, response.status, body)
            else:
                # Pages send strangers to the sign-in form; writes without a session are refused.
                assert response.status in (302, 303, 401, 403), (method, path, headers, body)
                if response.status in (302, 303):
                    assert response.headers["Location"].startswith("/admin/login")
    assert changed(before, await snapshot(sessions)) == {}
    assert templates_digest() == files
    # A route that refused everyone would pass too: the token itself gets in.
    response = await client.get("/admin/api/clock", headers=admin_headers())
    assert response.status == 200, await response.text()


# --- one fan acting on another's things ---------------------------------------------------------


@pytest.fixture
async def order(wechat: Emulator) -> int:
    """o_alice's store supplies, o_carol resells, o_bob buys through the resale: an order."""
    await open_store(wechat, "o_alice", "Alice Tea")
    product = await list_product(wechat, "o_alice", "Green-tea", "10", 5)
    await open_store(wechat, "o_carol", "Carol Books")
    resale = first_id(await say(wechat, "o_carol", f"resell {product} 12"))
    await topup(wechat, "o_bob", "100")
    reply = await say(wechat, "o_bob", f"buy {resale}")
    assert reply.startswith("Order #"), reply
    await say(wechat, "o_mallory", "balance")  # a stranger, known to the bot: she has a wallet
    return first_id(reply)


async def test_only_the_supplier_ships_and_only_the_buyer_receives_or_cancels(
    wechat: Emulator, sessions, clock: FrozenClock, order: int
) -> None:
    second = first_id(await say(wechat, "o_bob", "buy 2"))
    steps = [
        # (command, order, who may, what the others are told, the others)
        ("ship", order, "o_alice", "supplying store's owner", ["o_mallory", "o_bob", "o_carol"]),
        ("received", order, "o_bob", "buyer", ["o_mallory", "o_alice", "o_carol"]),
        ("cancel", second, "o_bob", "buyer", ["o_mallory", "o_alice", "o_carol"]),
    ]
    for command, order_id, rightful, who, others in steps:
        if command == "cancel":
            clock.advance(timedelta(hours=49))  # past the wait: only ownership stands in the way
        before = await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)
        for fan in others:
            reply = await say(wechat, fan, f"{command} #{order_id}")
            assert reply == f"Only the {who} of order #{order_id} can do that.", (fan, reply)
        assert changed(before, await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)) == {}
        # The refusals were about who asked: the rightful party can.
        reply = await say(wechat, rightful, f"{command} #{order_id}")
        assert reply.startswith(f"Order #{order_id}"), reply


def id_commands(wechat: Emulator, app: web.Application) -> list[tuple[str, str]]:
    """Every chat command taking the id of a fan's own thing (an order, a holding, a coupon,
    a group), from the registry: (command, parameter)."""
    owned = ("order_id", "holding_id", "coupon_id")
    dispatcher = app[dispatcher_key]
    return sorted(
        {
            (command.name, param.name)
            for command in dispatcher.commands.values()
            for param in command.params
            if param.name in owned
        }
    )


async def test_every_command_on_an_order_or_holding_refuses_a_stranger(
    wechat: Emulator, client: TestClient, sessions, demo: None, clock: FrozenClock, order: int
) -> None:
    await topup(wechat, "o_bob", "200")
    holding = first_id(await say(wechat, "o_bob", "invest 1 50"))
    clock.advance(timedelta(hours=49))
    commands = id_commands(wechat, client.app)
    assert ("ship", "order_id") in commands and ("cancel", "order_id") in commands
    ids = {"order_id": order, "holding_id": holding}
    before = await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)
    for command, param in commands:
        if param not in ids:
            continue  # a coupon id: o_mallory owns none to test with; their own tests cover it
        reply = await say(wechat, "o_mallory", f"{command} {ids[param]}")
        assert f"#{ids[param]}" in reply and not reply.startswith(("Order #", "Holding #")), (
            command,
            reply,
        )
    assert changed(before, await snapshot(sessions, skip=MESSAGE_BOOKKEEPING)) == {}
    # What o_mallory sees of them: nothing.
    assert f"#{order}" not in await say(wechat, "o_mallory", "orders")
    assert f"#{holding}" not in await say(wechat, "o_mallory", "holdings")


async def test_the_payer_is_the_signed_sender_not_the_openid_or_plaintext_fields(
    wechat: Emulator, demo: None
) -> None:
    await topup(wechat, "o_alice", "20")
    await topup(wechat, "o_mallory", "20")
    fields = {
        "ToUserName": wechat.account.account_id,
        "FromUserName": "o_mallory",
        "CreateTime": wechat.now(),
        "MsgType": "text",
        "Content": "tip 1 5",
        "MsgId": 777,
    }
    query = wechat.signed_query() | {"openid": "o_alice"}
    exchange = await wechat.post(fields, query=query)
    assert exchange.content.startswith("You tipped ¥5.00"), exchange.describe()
    assert (await say(wechat, "o_mallory", "balance")) == "Your balance: ¥15.00"
    assert (await say(wechat, "o_alice", "balance")) == "Your balance: ¥20.00"

    # Compatible mode sends plaintext fields beside <Encrypt>; only the signed ciphertext counts.
    header = {"ToUserName": wechat.account.account_id, "CreateTime": wechat.now()}
    real = header | {"FromUserName": "o_mallory", "MsgType": "text", "Content": "tip 1 5"}
    claimed = header | {"FromUserName": "o_alice", "MsgType": "text", "Content": "tip 1 5"}
    query = wechat.signed_query()
    body, msg_signature = wechat.crypto.encrypt_message(
        build_message_xml(real | {"MsgId": 778}),
        timestamp=query["timestamp"],
        nonce=query["nonce"],
        to_user_name=wechat.account.account_id,
        compatible_fields=build_message_xml(claimed | {"MsgId": 779}),
    )
    query |= {"encrypt_type": "aes", "msg_signature": msg_signature, "openid": "o_alice"}
    exchange = await wechat.post(real, query=query, body=body)
    assert exchange.content.startswith("You tipped ¥5.00"), exchange.describe()
    assert (await say(wechat, "o_mallory", "balance")) == "Your balance: ¥10.00"
    assert (await say(wechat, "o_alice", "balance")) == "Your balance: ¥20.00"
