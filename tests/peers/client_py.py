#!/usr/bin/env python3
"""A real MCP host for mcp-valet's integration tests, built on the official Python SDK's
`Client` (`mcp` 2.3.0, pinned in requirements.lock). It can play a modern (2026-07-28) host
or an old one, over stdio (it launches a command, e.g. mcp-valet, as a desktop client does)
or straight at a Streamable HTTP URL (to test the peers themselves).

    tests/peers/.venv/bin/python tests/peers/client_py.py [--mode auto|legacy|2026-07-28]
        [--steps a,b,...] [--log-level LEVEL] [--timeout SECONDS] [--tool NAME --args JSON]
        [--cancel-after-ms N] [--idle-ms N] [--sampling-text TEXT] [--roots URI,...]
        (--url URL | -- COMMAND [ARGS...])

--mode is the Client's: `auto` (default: probe server/discover, fall back to initialize),
`legacy` (initialize handshake only) or `2026-07-28` (modern, no probe). Over stdio the
command gets the full environment; its stderr is inherited.

The host declares elicitation always; sampling only with --sampling-text (every
sampling/createMessage is answered with that text, model "mcp-valet-test-model"), roots only
with --roots (roots/list is answered with those URIs, named root-1, root-2, ...). What the
callbacks were asked is in the summary's "samplings" and "rootsAsked".

Steps (run in order; default: tools):
  tools         tools/list: names, and each tool's x-mcp-header declarations
  echo          tools/call echo {text: "hello"}
  call          tools/call --tool NAME with --args JSON (default {})
  progress_call the call step with a progress callback: also the progress notifications
                received for it, as [progress, total, message]
  header_echo   tools/call header_echo {region: "Zürich", priority: 3, urgent: true}
  reserve       tools/call reserve {item: "widgets"}: the elicitation callback answers
                {quantity: 3} (input_required on 2026-07-28, elicitation/create before);
                to a schema with a `name` property (the peers' `elicit` tool) it answers
                {name: "valet"}
  logging       with --log-level (default debug): tools/call log_levels; the log
                notifications received (2026-07-28: Client(log_level=...) stamps the
                _meta logLevel; legacy: logging/setLevel first)
  listen        2026-07-28: subscriptions/listen {toolsListChanged, resourcesListChanged,
                resourceSubscriptions: [peer://stock]}, then tools/call restock; the
                events until both tools and peer://stock changed. Legacy: resources/subscribe
                peer://stock, restock, the notifications that arrive.
  listen_notify 2026-07-28: listen {toolsListChanged}, tools/call notify {text: "hi"} (a server
                of the older revisions: it sends tools/list_changed); the events
  listen_idle   2026-07-28: listen {toolsListChanged, resourceSubscriptions: [peer://stock]},
                stay idle for --idle-ms (default 3000), then tools/call restock; the events
                (a listen stream must outlive the bridge's --request-timeout)
  listen_cut    2026-07-28: listen, tools/call drop_listeners {graceful: false} (the server
                cuts the stream), expect SubscriptionLost; listen again, restock, events
  cancel        tools/call slow {ms: 10000}, abandoned after --cancel-after-ms (default
                300; the SDK sends notifications/cancelled over stdio, closes the stream
                over HTTP); then tools/call stats until the server counted the
                cancellation (at most 5 s)
  resources     resources/list + resources/read of peer://readme
  prompts       prompts/list + prompts/get greet {name: "valet"}

Prints one JSON object on stdout and exits 0 once connected, even when a step failed:
each step's entry then holds {"error": {"type", "message", "code"?}}. Exits 1 (reason on
stderr) when it cannot connect at all. --timeout (default 30) bounds every request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*deprecated.*")
warnings.filterwarnings("ignore", message=".*removed as of.*")

import anyio  # noqa: E402
import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402
from mcp.client.subscriptions import ResourceUpdated, SubscriptionLost, ToolsListChanged  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

STEPS = [
    "tools",
    "echo",
    "call",
    "progress_call",
    "header_echo",
    "reserve",
    "logging",
    "listen",
    "listen_notify",
    "listen_idle",
    "listen_cut",
    "cancel",
    "resources",
    "prompts",
]
QUANTITY = 3
ELICIT_NAME = "valet"


def parse_args() -> argparse.Namespace:
    argv = sys.argv[1:]
    command: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", default="auto")
    p.add_argument("--steps", default="tools")
    p.add_argument("--log-level", default=None)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--tool", default=None)
    p.add_argument("--args", default="{}")
    p.add_argument("--cancel-after-ms", type=int, default=300)
    p.add_argument("--idle-ms", type=int, default=3000)
    p.add_argument("--sampling-text", default=None)
    p.add_argument("--roots", default=None)
    p.add_argument("--url", default=None)
    a = p.parse_args(argv)
    a.command = command
    a.steps = [s.strip() for s in a.steps.split(",") if s.strip()]
    for s in a.steps:
        if s not in STEPS:
            p.error(f"unknown step {s!r}; known: {', '.join(STEPS)}")
    if bool(a.url) == bool(command):
        p.error("give exactly one of --url URL or -- COMMAND [ARGS...]")
    return a


ARGS = parse_args()

summary: dict[str, Any] = {
    "mode": ARGS.mode,
    "steps": ARGS.steps,
    "protocolVersion": None,
    "serverInfo": None,
    "capabilities": None,
    "instructions": None,
    "notifications": {},
    "logs": [],
    "elicitations": [],
    "samplings": [],
    "rootsAsked": 0,
    "results": {},
}


def err(e: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(e).__name__, "message": str(e)}
    if isinstance(e, MCPError):
        out["code"] = e.code
        data = getattr(e, "data", None)
        if data is not None:
            out["data"] = data
    return out


def dump(model: Any) -> Any:
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return model


def tool_result(r: types.CallToolResult) -> dict[str, Any]:
    text = "".join(c.text for c in r.content if getattr(c, "type", None) == "text")
    return {"text": text, "isError": bool(r.is_error), "structuredContent": r.structured_content}


async def on_message(message: Any) -> None:
    if isinstance(message, Exception):
        summary["notifications"].setdefault("<exception>", 0)
        summary["notifications"]["<exception>"] += 1
        return
    method = getattr(getattr(message, "root", message), "method", None) or type(message).__name__
    summary["notifications"][method] = summary["notifications"].get(method, 0) + 1


async def on_log(params: types.LoggingMessageNotificationParams) -> None:
    summary["logs"].append({"level": params.level, "logger": params.logger, "data": params.data})


async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
    summary["elicitations"].append(
        {"message": getattr(params, "message", None), "schema": dump(getattr(params, "requested_schema", None))}
    )
    schema = dump(getattr(params, "requested_schema", None)) or {}
    if "name" in schema.get("properties", {}):  # the `elicit` tools of the peers
        return types.ElicitResult(action="accept", content={"name": ELICIT_NAME})
    return types.ElicitResult(action="accept", content={"quantity": QUANTITY})


async def on_sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    summary["samplings"].append(dump(params))
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=ARGS.sampling_text),
        model="mcp-valet-test-model",
        stop_reason="endTurn",
    )


async def on_roots(context: Any) -> types.ListRootsResult:
    summary["rootsAsked"] += 1
    uris = [u for u in (ARGS.roots or "").split(",") if u]
    return types.ListRootsResult(roots=[types.Root(uri=u, name=f"root-{i + 1}") for i, u in enumerate(uris)])


def modern(client: Client) -> bool:
    return client.protocol_version == "2026-07-28"


async def wait_events(sub: Any, want: set[str], timeout: float) -> list[dict[str, Any]]:
    """Events from `sub` until every kind in `want` was seen (or `timeout`)."""
    seen: list[dict[str, Any]] = []
    with anyio.move_on_after(timeout):
        async for event in sub:
            if isinstance(event, ToolsListChanged):
                seen.append({"kind": "tools_list_changed"})
                want.discard("tools")
            elif isinstance(event, ResourceUpdated):
                seen.append({"kind": "resource_updated", "uri": event.uri})
                want.discard(event.uri)
            else:
                seen.append({"kind": type(event).__name__})
            if not want:
                break
    return seen


async def step(client: Client, name: str) -> Any:
    t = ARGS.timeout
    if name == "tools":
        r = await client.list_tools()
        headers = {}
        for tool in r.tools:
            props = (tool.input_schema or {}).get("properties", {})
            decl = {k: v["x-mcp-header"] for k, v in props.items() if isinstance(v, dict) and "x-mcp-header" in v}
            if decl:
                headers[tool.name] = decl
        return {"names": [tool.name for tool in r.tools], "x-mcp-header": headers}
    if name == "echo":
        return tool_result(await client.call_tool("echo", {"text": "hello"}, read_timeout_seconds=t))
    if name == "call":
        if not ARGS.tool:
            raise ValueError("the call step needs --tool NAME")
        return tool_result(await client.call_tool(ARGS.tool, json.loads(ARGS.args), read_timeout_seconds=t))
    if name == "progress_call":
        if not ARGS.tool:
            raise ValueError("the progress_call step needs --tool NAME")
        seen: list[Any] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append([progress, total, message])

        r = tool_result(
            await client.call_tool(
                ARGS.tool, json.loads(ARGS.args), read_timeout_seconds=t, progress_callback=on_progress
            )
        )
        await anyio.sleep(0.3)  # progress callbacks run in tasks of their own
        r["progress"] = sorted(seen, key=lambda p: p[0])
        return r
    if name == "header_echo":
        r = await client.call_tool(
            "header_echo", {"region": "Zürich", "priority": 3, "urgent": True}, read_timeout_seconds=t
        )
        out = tool_result(r)
        out["echo"] = json.loads(out["text"]) if not out["isError"] else None
        return out
    if name == "reserve":
        return tool_result(await client.call_tool("reserve", {"item": "widgets"}, read_timeout_seconds=t))
    if name == "logging":
        set_level: Any = None
        if not modern(client):
            try:
                set_level = dump(await client.set_logging_level(ARGS.log_level or "debug"))
            except MCPError as e:  # the Python SDK's MCPServer has no logging/setLevel
                set_level = {"error": err(e)}
        before = len(summary["logs"])
        r = tool_result(await client.call_tool("log_levels", {}, read_timeout_seconds=t))
        r["setLevel"] = set_level
        await anyio.sleep(0.2)  # a legacy server's log notifications may trail the result
        r["logs"] = summary["logs"][before:]
        return r
    if name == "listen":
        if not modern(client):
            try:
                subscribed: Any = dump(await client.subscribe_resource("peer://stock"))
            except MCPError as e:  # the Python SDK's MCPServer has no resources/subscribe
                subscribed = {"error": err(e)}
            before = dict(summary["notifications"])
            r = tool_result(await client.call_tool("restock", {}, read_timeout_seconds=t))
            r["subscribe"] = subscribed
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                got = {k: v - before.get(k, 0) for k, v in summary["notifications"].items() if v > before.get(k, 0)}
                if "notifications/resources/updated" in got and "notifications/tools/list_changed" in got:
                    break
                await anyio.sleep(0.05)
            r["notifications"] = {
                k: v - before.get(k, 0) for k, v in summary["notifications"].items() if v > before.get(k, 0)
            }
            return r
        async with client.listen(
            tools_list_changed=True, resources_list_changed=True, resource_subscriptions=["peer://stock"]
        ) as sub:
            honored = dump(sub.honored)
            r = tool_result(await client.call_tool("restock", {}, read_timeout_seconds=t))
            r["honored"] = honored
            r["events"] = await wait_events(sub, {"tools", "peer://stock"}, 5)
            return r
    if name == "listen_notify":
        async with client.listen(tools_list_changed=True) as sub:
            honored = dump(sub.honored)
            r = tool_result(await client.call_tool("notify", {"text": "hi"}, read_timeout_seconds=t))
            r["honored"] = honored
            r["events"] = await wait_events(sub, {"tools"}, 5)
            return r
    if name == "listen_idle":
        async with client.listen(tools_list_changed=True, resource_subscriptions=["peer://stock"]) as sub:
            await anyio.sleep(ARGS.idle_ms / 1000)
            r = tool_result(await client.call_tool("restock", {}, read_timeout_seconds=t))
            r["events"] = await wait_events(sub, {"tools", "peer://stock"}, 5)
            return r
    if name == "listen_cut":
        out: dict[str, Any] = {"lost": False}
        async with client.listen(tools_list_changed=True, resource_subscriptions=["peer://stock"]) as sub:
            out["drop"] = tool_result(
                await client.call_tool("drop_listeners", {"graceful": False}, read_timeout_seconds=t)
            )
            try:
                with anyio.fail_after(5):
                    async for event in sub:
                        out.setdefault("before_cut", []).append(type(event).__name__)
                out["ended"] = "graceful"
            except SubscriptionLost:
                out["lost"] = True
                out["ended"] = "lost"
            except TimeoutError:
                out["ended"] = "still open after 5 s"
        async with client.listen(tools_list_changed=True, resource_subscriptions=["peer://stock"]) as sub:
            await client.call_tool("restock", {}, read_timeout_seconds=t)
            out["events_after"] = await wait_events(sub, {"tools", "peer://stock"}, 5)
        return out
    if name == "cancel":
        before = json.loads(tool_result(await client.call_tool("stats", {}, read_timeout_seconds=t))["text"])
        finished = None
        with anyio.move_on_after(ARGS.cancel_after_ms / 1000):
            finished = tool_result(await client.call_tool("slow", {"ms": 10000}, read_timeout_seconds=t))
        deadline = time.monotonic() + 5
        after = before
        while time.monotonic() < deadline:
            after = json.loads(tool_result(await client.call_tool("stats", {}, read_timeout_seconds=t))["text"])
            if after["cancelled"] > before["cancelled"]:
                break
            await anyio.sleep(0.1)
        return {"finished": finished, "before": before, "after": after,
                "cancelled": after["cancelled"] - before["cancelled"]}
    if name == "resources":
        lst = await client.list_resources()
        read = await client.read_resource("peer://readme")
        return {
            "uris": [str(r.uri) for r in lst.resources],
            "text": "".join(getattr(c, "text", "") for c in read.contents),
        }
    if name == "prompts":
        lst = await client.list_prompts()
        got = await client.get_prompt("greet", {"name": "valet"})
        return {
            "names": [p.name for p in lst.prompts],
            "text": "".join(getattr(m.content, "text", "") for m in got.messages),
        }
    raise ValueError(name)


async def main() -> int:
    if ARGS.url:
        server: Any = ARGS.url
    else:
        server = StdioServerParameters(command=ARGS.command[0], args=ARGS.command[1:], env=dict(os.environ))
    client = Client(
        server,
        mode=ARGS.mode,
        read_timeout_seconds=ARGS.timeout,
        elicitation_callback=on_elicit,
        sampling_callback=on_sample if ARGS.sampling_text is not None else None,
        list_roots_callback=on_roots if ARGS.roots is not None else None,
        logging_callback=on_log,
        message_handler=on_message,
        log_level=ARGS.log_level or ("debug" if "logging" in ARGS.steps else None),
        client_info=types.Implementation(name="mcp-valet-test-client-py", version="1.0.0"),
        cache=None,
    )
    connected = False
    try:
        async with client:
            connected = True
            summary["protocolVersion"] = client.protocol_version
            summary["serverInfo"] = dump(client.server_info)
            summary["capabilities"] = dump(client.server_capabilities)
            summary["instructions"] = client.instructions
            for name in ARGS.steps:
                try:
                    with anyio.fail_after(ARGS.timeout * 2):
                        summary["results"][name] = await step(client, name)
                except Exception as e:  # noqa: BLE001 - recorded, the next step still runs
                    summary["results"][name] = {"error": err(e)}
    except Exception as e:  # noqa: BLE001 - report any connection failure
        if not connected:
            sys.stderr.write(f"client_py.py: cannot connect: {type(e).__name__}: {e}\n")
            return 1
        summary["closeError"] = err(e)
    return 0


if __name__ == "__main__":
    code = anyio.run(main)
    if code == 0:
        sys.stdout.write(json.dumps(summary, separators=(",", ":"), default=str) + "\n")
        sys.stdout.flush()
    sys.exit(code)
