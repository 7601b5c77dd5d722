#!/usr/bin/env python3
"""Reference MCP server for mcp-valet's integration tests, built on the official
Python SDK (`mcp` on PyPI, pinned in requirements.lock): the SDK's MCPServer
(FastMCP's new name in mcp 2.x) and its Streamable HTTP app under uvicorn.

    tests/peers/.venv/bin/python tests/peers/server_py.py [--port 0] [--json]
        [--require-bearer TOKEN] [--retry-ms 500] [--modern-only] [--no-stdin-watch]
    tests/peers/.venv/bin/python tests/peers/server_py.py --stdio

Prints exactly one line on stdout once listening:
    {"listening":"http://127.0.0.1:PORT","mcp":"http://127.0.0.1:PORT/mcp"}
Everything else goes to stderr. Exits on SIGTERM/SIGINT and when stdin closes
(unless --no-stdin-watch). Stateful (Mcp-Session-Id), SSE responses (unless
--json) with an in-memory event store, so streams are resumable with
Last-Event-ID and start with a priming event carrying `retry`. The /admin
endpoints are the same as server.mjs's (see README.md).

The same /mcp also serves the 2026-07-28 revision (the SDK routes by the
MCP-Protocol-Version header): server/discover, the per-request _meta envelope,
Mcp-Param-* headers, input_required results, subscriptions/listen. The tools
header_echo, bad_header, reserve, restock, log_levels, stats and
drop_listeners exist for it (they work in both eras). --modern-only refuses
every request that is not 2026-07-28, like the TypeScript SDK's
`legacy: 'reject'`, which the Python SDK does not offer.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings
from typing import Annotated, Any

# mcp 2.x marks sampling, roots and logging deprecated as of 2026-07-28; they are
# still part of every handshake-era revision, which is what this peer serves.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*deprecated.*")

import uvicorn  # noqa: E402
from mcp import types  # noqa: E402
from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve  # noqa: E402
from mcp.server.streamable_http import EventMessage, EventStore  # noqa: E402
from mcp.server.transport_security import TransportSecuritySettings  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

MODERN = "2026-07-28"
LARGE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
STARTED = time.monotonic()


def log(msg: str) -> None:
    sys.stderr.write(f"[peer python] {msg}\n")
    sys.stderr.flush()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--json", action="store_true", help="plain application/json responses instead of SSE")
    p.add_argument("--require-bearer", metavar="TOKEN", default=None)
    p.add_argument("--retry-ms", type=int, default=500)
    p.add_argument(
        "--modern-only",
        action="store_true",
        help="refuse every POST whose MCP-Protocol-Version is not 2026-07-28 (400, -32022); GET/DELETE 405",
    )
    p.add_argument(
        "--stdio",
        action="store_true",
        help="serve MCP on stdin/stdout instead of HTTP (both eras; for testing the stdio hosts)",
    )
    p.add_argument("--no-stdin-watch", action="store_true")
    return p.parse_args()


ARGS = parse_args()


# --------------------------------------------------------------------------- event store


class SeqEventStore(EventStore):
    """In-memory EventStore with strictly increasing event ids."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._events: dict[str, tuple[str, int, Any]] = {}  # id -> (stream, seq, message)
        self._streams: dict[str, list[str]] = {}

    async def store_event(self, stream_id, message):  # type: ignore[override]
        seq = next(self._seq)
        event_id = f"{stream_id}_{seq:08d}"
        self._events[event_id] = (stream_id, seq, message)
        self._streams.setdefault(stream_id, []).append(event_id)
        return event_id

    async def replay_events_after(self, last_event_id, send_callback):  # type: ignore[override]
        last = self._events.get(last_event_id)
        if last is None:
            return None
        stream_id, last_seq, _ = last
        for event_id in self._streams.get(stream_id, []):
            _, seq, message = self._events[event_id]
            if seq <= last_seq or message is None:  # None = priming event
                continue
            await send_callback(EventMessage(message, event_id))
        return stream_id


# --------------------------------------------------------------------------- MCP server

mcp = MCPServer(
    name="mcp-valet-peer-py",
    version="1.0.0",
    instructions="mcp-valet test peer (Python SDK)",
)


@mcp.tool(description="Echo the text back")
async def echo(text: str) -> str:
    return text


@mcp.tool(description=f'Return one text content of exactly `bytes` ASCII bytes: character i is "{LARGE_ALPHABET}"[i % 62]')
async def large(bytes: int) -> str:  # noqa: A002 - the tool's argument is called `bytes`
    if bytes < 0 or bytes > 64 * 1024 * 1024:
        raise ValueError("bytes must be 0..67108864")
    return (LARGE_ALPHABET * (bytes // len(LARGE_ALPHABET) + 1))[:bytes]


@mcp.tool(description="Send `steps` progress notifications, `delay_ms` apart, then return \"done\"")
async def progress(steps: int, ctx: Context, delay_ms: int = 0) -> str:
    for i in range(1, steps + 1):
        # A no-op when the request carried no progressToken.
        await ctx.report_progress(i, steps, f"step {i}/{steps}")
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
    return "done"


# What became of every `slow` call: readable with the `stats` tool and GET /admin/state, so
# a test can see that a cancellation reached the server (the handler was cancelled).
SLOW = {"started": 0, "completed": 0, "cancelled": 0}


@mcp.tool(description='Wait `ms` milliseconds, then return "slept" (counted: see the stats tool)')
async def slow(ms: int) -> str:
    SLOW["started"] += 1
    log(f"slow: started ({ms} ms)")
    try:
        await asyncio.sleep(ms / 1000)
    except BaseException:  # asyncio/anyio cancellation: the client cancelled or went away
        SLOW["cancelled"] += 1
        log("slow: cancelled")
        raise
    SLOW["completed"] += 1
    return "slept"


@mcp.tool(description="Ask the client for a name (elicitation/create, form mode); returns the ElicitResult as JSON")
async def elicit(message: str, ctx: Context) -> str:
    result = await ctx.session.elicit_form(
        message,
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "title": "Name", "description": "Your name", "default": "anonymous"}
            },
            "required": ["name"],
        },
        related_request_id=ctx.request_id,
    )
    return json.dumps(result.model_dump(mode="json", exclude_none=True, by_alias=True), separators=(",", ":"))


@mcp.tool(description="Ask the client to sample (sampling/createMessage); returns the sampled text")
async def sample(prompt: str, ctx: Context) -> str:
    result = await ctx.session.create_message(
        messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
        max_tokens=100,
        related_request_id=ctx.request_id,
    )
    blocks = result.content if isinstance(result.content, list) else [result.content]
    return "".join(b.text for b in blocks if getattr(b, "type", None) == "text")


@mcp.tool(description="Call roots/list on the client (the SDK sends it unrelated, i.e. on the GET stream); returns JSON")
async def roots(ctx: Context) -> str:
    # No timeout of its own in the SDK: bound it so a client without a GET
    # stream gets an error instead of a tool call that never ends.
    result = await asyncio.wait_for(ctx.session.list_roots(), 30)
    return json.dumps({"roots": [r.model_dump(mode="json", exclude_none=True) for r in result.roots]})


@mcp.tool(description='Send a logging notification tied to this call and a tools/list_changed on the GET stream; returns "ok"')
async def notify(text: str, ctx: Context) -> str:
    await ctx.info(text, logger_name="peer")
    await ctx.session.send_tool_list_changed()
    return "ok"


@mcp.tool(description='Send a progress notification (if asked) and a log message, close the POST\'s SSE stream, answer "resumed-ok" after `after_ms`')
async def break_stream(after_ms: int, ctx: Context) -> str:
    # The progress notification is a no-op without a progressToken; the logging
    # message always goes out, so the client holds an event id either way.
    await ctx.report_progress(1, 2, "breaking the stream")
    await ctx.info("breaking the stream", logger_name="peer")
    await ctx.close_sse_stream()
    await asyncio.sleep(after_ms / 1000)
    return "resumed-ok"


# --------------------------------------------------------------------------- 2026-07-28 tools

ERA_HEADERS = ("mcp-protocol-version", "mcp-method", "mcp-name")


def seen_headers(ctx: Context) -> dict[str, str]:
    """The MCP routing headers of the HTTP request that carried this call (lower-case names)."""
    h = ctx.headers or {}
    return {k.lower(): v for k, v in h.items() if k.lower() in ERA_HEADERS or k.lower().startswith("mcp-param-")}


@mcp.tool(description="Return the arguments and the Mcp-* headers this call arrived with, as JSON")
async def header_echo(
    region: Annotated[str, Field(description="mirrored as Mcp-Param-Region", json_schema_extra={"x-mcp-header": "Region"})],
    ctx: Context,
    priority: Annotated[int, Field(description="mirrored as Mcp-Param-Priority", json_schema_extra={"x-mcp-header": "Priority"})] = 0,
    urgent: Annotated[bool, Field(description="mirrored as Mcp-Param-Urgent", json_schema_extra={"x-mcp-header": "Urgent"})] = False,
    note: str | None = None,
) -> str:
    args = {"region": region, "priority": priority, "urgent": urgent, "note": note}
    return json.dumps({"arguments": args, "headers": seen_headers(ctx), "protocolVersion": ctx.protocol_version}, separators=(",", ":"))


@mcp.tool(description="Declares an invalid x-mcp-header (not an RFC 9110 token): a conforming client drops this tool")
async def bad_header(q: str) -> str:
    return q


# The SDK refuses to register an invalid x-mcp-header (InvalidSignature), so it is put into
# the registered tool's schema afterwards: tools/list then advertises it as a bad server would.
mcp._tool_manager._tools["bad_header"].parameters["properties"]["q"]["x-mcp-header"] = "Bad Header"  # noqa: SLF001


class Quantity(BaseModel):
    quantity: int = Field(description="How many?", ge=1)


def ask_quantity(item: str) -> Elicit[Quantity]:
    return Elicit(f"How many {item}?", Quantity)


@mcp.tool(description="Reserve some of `item`: asks the client how many (one elicitation; input_required on 2026-07-28)")
async def reserve(item: str, answer: Annotated[Quantity, Resolve(ask_quantity)]) -> str:
    return f"reserved {answer.quantity} {item}"


@mcp.tool(description="Publish resources/updated for peer://stock and tools/list_changed (and resources/list_changed) to listen streams; legacy sessions get them on the GET stream")
async def restock(ctx: Context) -> str:
    if ctx.protocol_version == MODERN:
        await ctx.notify_resource_updated("peer://stock")
        await ctx.notify_tools_changed()
        await ctx.notify_resources_changed()
    else:
        await ctx.session.send_resource_updated("peer://stock")
        await ctx.session.send_tool_list_changed()
        await ctx.session.send_resource_list_changed()
    return "restocked"


@mcp.tool(description='Log one message at each of debug, info, warning and error (logger "peer-levels"), then return "logged"')
async def log_levels(ctx: Context) -> str:
    for level in ("debug", "info", "warning", "error"):
        await ctx.log(level, f"{level} message", logger_name="peer-levels")
    return "logged"


@mcp.tool(description="The slow tool's counters as JSON: {started, completed, cancelled}")
async def stats() -> str:
    return json.dumps(SLOW, separators=(",", ":"))


@mcp.tool(description="End every open subscriptions/listen stream: graceful (final result) or cut (no result, the client must re-listen)")
async def drop_listeners(graceful: bool = False) -> str:
    n = await cut_listeners(graceful)
    return json.dumps({"dropped": n, "graceful": graceful}, separators=(",", ":"))


@mcp.resource("peer://stock", name="peer-stock", title="Stock", description="Changes on restock", mime_type="text/plain")
def stock() -> str:
    return "in stock"


@mcp.resource("peer://readme", name="peer-readme", title="Peer readme", description="A static text resource", mime_type="text/plain")
def readme() -> str:
    return "hello from the peer resource"


@mcp.prompt(name="greet", title="Greet", description="A greeting prompt")
def greet(name: str) -> str:
    return f"Hello, {name}!"


# --------------------------------------------------------------------------- HTTP plumbing

request_log: list[dict[str, Any]] = []
fail_next: dict[str, Any] | None = None

inner_app = mcp.streamable_http_app(
    json_response=ARGS.json,
    event_store=None if ARGS.json else SeqEventStore(),
    retry_interval=None if ARGS.json else ARGS.retry_ms,
    # The default would already allow 127.0.0.1:*; spelled out for clarity.
    transport_security=TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*"],
    ),
)


# Open subscriptions/listen exchanges: each one's cancel scope and a way to end its response.
LISTENERS: set["Listener"] = set()


class Listener:
    def __init__(self) -> None:
        import anyio

        self.scope = anyio.CancelScope()
        self.started = False  # the response head went out
        self.finished = False  # the last body chunk went out


def listen_handler():
    entry = mcp._lowlevel_server._request_handlers.get("subscriptions/listen")  # noqa: SLF001 - test peer
    return getattr(entry, "handler", None) or getattr(entry, "fn", None)


async def cut_listeners(graceful: bool) -> int:
    """End every open listen stream: graceful = the SDK's ListenHandler.close() (each stream
    ends with its SubscriptionsListenResult); otherwise the exchange is cancelled and its
    HTTP response ended right there, with no result (the client must re-listen)."""
    items = list(LISTENERS)
    if graceful:
        h = listen_handler()
        if h is not None and hasattr(h, "close"):
            h.close()
    else:
        for listener in items:
            listener.scope.cancel()
    log(f"cut {len(items)} listen stream(s) ({'graceful' if graceful else 'abrupt'})")
    return len(items)


def session_manager():
    return mcp._lowlevel_server._session_manager  # noqa: SLF001 - test peer


async def drop_sessions() -> int:
    mgr = session_manager()
    items = list(mgr._server_instances.items())  # noqa: SLF001
    for sid, transport in items:
        await mgr._discard_session(sid, transport)  # noqa: SLF001
    return len(items)


async def send_json(send, status: int, value: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(value).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + (headers or [])
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


def pick_headers(h: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mcp-session-id": h.get("mcp-session-id"),
        "mcp-protocol-version": h.get("mcp-protocol-version"),
        "last-event-id": h.get("last-event-id"),
        "accept": h.get("accept"),
        "content-type": h.get("content-type"),
        "authorization-present": "authorization" in h,
        "mcp-method": h.get("mcp-method"),
        "mcp-name": h.get("mcp-name"),
    }
    for k, v in h.items():
        if k.startswith("x-test-") or k.startswith("mcp-param-"):
            out[k] = v
    return out


async def handle_admin(scope, receive, send) -> None:
    global fail_next
    method, path = scope["method"], scope["path"]
    raw = await read_body(receive)
    if method == "GET" and path == "/admin/log":
        return await send_json(send, 200, request_log)
    if method == "DELETE" and path == "/admin/log":
        request_log.clear()
        return await send_json(send, 200, {"cleared": True})
    if method == "POST" and path == "/admin/drop-sessions":
        n = await drop_sessions()
        log(f"admin: dropped {n} session(s)")
        return await send_json(send, 200, {"dropped": n})
    if method == "GET" and path == "/admin/state":
        return await send_json(send, 200, {"slow": SLOW, "listeners": len(LISTENERS)})
    if method == "POST" and path == "/admin/drop-listeners":
        try:
            p = json.loads(raw or b"{}")
        except ValueError:
            p = {}
        n = await cut_listeners(bool(p.get("graceful", False)))
        return await send_json(send, 200, {"dropped": n})
    if method == "POST" and path == "/admin/fail-next":
        try:
            p = json.loads(raw or b"{}")
            status = int(p["status"])
        except Exception:
            return await send_json(send, 400, {"error": "body must be JSON {status, retry_after?, count?}"})
        count = int(p.get("count", 1))
        fail_next = {"status": status, "retry_after": p.get("retry_after"), "remaining": count} if count > 0 else None
        log(f"admin: the next {count} MCP POST(s) answer {status}")
        return await send_json(send, 200, {"status": status, "retry_after": p.get("retry_after"), "count": count})
    return await send_json(send, 404, {"error": f"no admin endpoint {method} {path}"})


async def app(scope, receive, send):
    """ASGI wrapper: admin endpoints, request log, bearer check, fault injection."""
    global fail_next
    if scope["type"] != "http":
        return await inner_app(scope, receive, send)
    if scope["path"].startswith("/admin/"):
        return await handle_admin(scope, receive, send)

    raw = await read_body(receive)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    path = scope["path"] + (("?" + scope["query_string"].decode()) if scope.get("query_string") else "")
    entry = {
        "t": round((time.monotonic() - STARTED) * 1000, 1),
        "method": scope["method"],
        "path": path,
        "status": None,
        "headers": pick_headers(headers),
        "body": body,
    }
    request_log.append(entry)

    async def send_logged(message):
        if message["type"] == "http.response.start" and entry["status"] is None:
            entry["status"] = message["status"]
        await send(message)

    # Replay the already-read body to the SDK.
    replayed = False

    async def receive_replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    if ARGS.require_bearer is not None and headers.get("authorization") != f"Bearer {ARGS.require_bearer}":
        return await send_json(
            send_logged, 401, {"error": "invalid_token", "error_description": "missing or wrong bearer token"},
            [(b"www-authenticate", b"Bearer")],
        )
    if scope["method"] == "POST" and fail_next is not None:
        f = fail_next
        f["remaining"] -= 1
        if f["remaining"] <= 0:
            fail_next = None
        hdrs = [(b"content-type", b"text/plain")]
        if f["retry_after"] is not None:
            hdrs.append((b"retry-after", str(f["retry_after"]).encode()))
        log(f"fail-next: answering {f['status']}")
        await send_logged({"type": "http.response.start", "status": f["status"], "headers": hdrs})
        await send_logged({"type": "http.response.body", "body": f"injected failure {f['status']}\n".encode()})
        return
    if ARGS.modern_only:
        refused = modern_only_refusal(scope["method"], headers, body)
        if refused is not None:
            status, value = refused
            if value is None:
                await send_logged({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
                await send_logged({"type": "http.response.body", "body": b""})
                return
            return await send_json(send_logged, status, value, [(b"allow", b"POST")] if status == 405 else None)
    if isinstance(body, dict) and body.get("method") == "subscriptions/listen":
        return await serve_listener(scope, receive_replay, send_logged)
    await inner_app(scope, receive_replay, send_logged)


def modern_only_refusal(method: str, headers: dict[str, str], body: Any) -> tuple[int, Any] | None:
    """What --modern-only answers instead of the SDK, or None to let the SDK serve it: GET and
    DELETE 405; a POST whose MCP-Protocol-Version is not 2026-07-28: 202 for a notification,
    else 400 + -32022 {supported, requested} (as the TypeScript SDK's legacy: 'reject')."""
    if method in ("GET", "DELETE"):
        return 405, {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": "Method not allowed."}}
    if method != "POST":
        return None
    version = headers.get("mcp-protocol-version")
    if version == MODERN:
        return None
    if isinstance(body, dict) and "method" in body and "id" not in body:
        return 202, None
    requested = version
    if requested is None and isinstance(body, dict):
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        requested = meta.get("io.modelcontextprotocol/protocolVersion") or params.get("protocolVersion")
    rid = body.get("id") if isinstance(body, dict) else None
    return 400, {
        "jsonrpc": "2.0",
        "id": rid,
        "error": {
            "code": -32022,
            "message": "Unsupported protocol version",
            "data": {"supported": [MODERN], "requested": requested},
        },
    }


async def serve_listener(scope, receive, send) -> None:
    """A subscriptions/listen exchange, cancellable by cut_listeners(): the response then
    ends (last chunk) without the listen result."""
    listener = Listener()

    async def send_tracked(message):
        if message["type"] == "http.response.start":
            listener.started = True
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            listener.finished = True
        await send(message)

    LISTENERS.add(listener)
    try:
        with listener.scope:
            await inner_app(scope, receive, send_tracked)
    finally:
        LISTENERS.discard(listener)
    if listener.scope.cancelled_caught and listener.started and not listener.finished:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# --------------------------------------------------------------------------- main


def hard_exit(why: str) -> None:
    log(f"exiting: {why}")
    sys.stderr.flush()
    os._exit(0)


def watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except Exception:
        pass
    hard_exit("stdin closed")


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", ARGS.port))
    port = sock.getsockname()[1]

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            return await inner_app(scope, receive, send)
        return await app(scope, receive, send)

    config = uvicorn.Config(asgi, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serve.done():
            serve.result()
            raise SystemExit("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    # uvicorn installed its own (graceful, possibly slow with open SSE streams)
    # handlers; a test peer must go at once.
    signal.signal(signal.SIGTERM, lambda *_: hard_exit("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: hard_exit("SIGINT"))
    if not ARGS.no_stdin_watch:
        threading.Thread(target=watch_stdin, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    sys.stdout.write(json.dumps({"listening": base, "mcp": f"{base}/mcp"}, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    log(f"listening on {base}, MCP endpoint {base}/mcp ({'json' if ARGS.json else 'sse'} responses)")
    await serve


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if ARGS.stdio:
        mcp.run("stdio")
    else:
        asyncio.run(main())
