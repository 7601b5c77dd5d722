#!/usr/bin/env node
// A real MCP client for mcp-valet's integration tests: the official TypeScript
// SDK's Client over StdioClientTransport, i.e. exactly what a desktop MCP
// client does when it launches a stdio server.
//
//   node tests/peers/client.mjs <mcp-valet binary> [args...]
//
// It launches the binary (stderr inherited, the full environment passed on),
// lets the SDK initialize, then runs the steps below and closes (stdin EOF,
// then the SDK's SIGTERM/SIGKILL escalation after 2 s each). It prints one JSON
// object summarising what it saw on stdout and exits 0; on any failure it
// prints the reason on stderr and exits 1.
//
// Steps, in order (PEER_CLIENT_STEPS=comma,separated,list picks a subset;
// "roots" and the 2026-07-28 peers' steps below are not in the default set):
//   tools     tools/list
//   echo      tools/call echo {text:"hello"}
//   progress  tools/call progress {steps:5, delay_ms:20} with an onprogress handler
//   elicit    tools/call elicit; our elicitation/create handler accepts {name:"valet"}
//   sample    tools/call sample; our sampling/createMessage handler answers "sampled-text"
//   roots     tools/call roots; our roots/list handler answers one root
//   resources resources/list + resources/read of peer://readme (else the first resource)
//   prompts   prompts/list + prompts/get greet {name:"valet"}
// For the 2026-07-28 peers (server_py.py, modern.mjs), reached through the bridge:
//   header_echo tools/call header_echo {region:"Zürich", priority:3, urgent:true}
//   reserve   tools/call reserve {item:"widgets"}; our elicitation handler answers
//             {quantity:3} when the form asks for a quantity
//   logging   logging/setLevel PEER_CLIENT_LOG_LEVEL (default debug), tools/call log_levels;
//             the notifications/message received
//   listen    resources/subscribe peer://stock, tools/call restock; the
//             resources/updated and list_changed notifications received (within 5 s)
//   listen_cut tools/call drop_listeners {graceful:false} (the server cuts its listen
//             streams), then tools/call restock every 500 ms until resources/updated and
//             tools/list_changed arrived again (at most 10 s): did the bridge re-listen?
//   cancel    tools/call slow {ms:10000}, aborted after PEER_CLIENT_CANCEL_MS (default 300;
//             the SDK sends notifications/cancelled), then tools/call stats until the
//             server counted the cancellation (at most 5 s)
// PEER_CLIENT_TIMEOUT_MS (default 30000) bounds each request.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const DEFAULT_STEPS = ['tools', 'echo', 'progress', 'elicit', 'sample', 'resources', 'prompts'];
const ALL_STEPS = [...DEFAULT_STEPS, 'roots', 'header_echo', 'reserve', 'logging', 'listen', 'listen_cut', 'cancel'];
const ROOT = { uri: 'file:///tmp/mcp-valet-test-root', name: 'test-root' };

function fail(msg) {
  process.stderr.write(`client.mjs: ${msg}\n`);
  process.exit(1);
}

const [command, ...args] = process.argv.slice(2);
if (!command) fail('usage: node client.mjs <mcp-valet binary> [args...]');

const steps = process.env.PEER_CLIENT_STEPS
  ? process.env.PEER_CLIENT_STEPS.split(',').map((s) => s.trim()).filter(Boolean)
  : DEFAULT_STEPS;
for (const s of steps) if (!ALL_STEPS.includes(s)) fail(`unknown step in PEER_CLIENT_STEPS: ${s}`);
const timeout = Number(process.env.PEER_CLIENT_TIMEOUT_MS ?? 30000);
const reqOpts = { timeout };

// Wraps the stdio transport to see the raw JSON-RPC traffic: the negotiated
// protocol version (the initialize result) and every notification received.
class TappedTransport {
  constructor(inner, summary) {
    this.inner = inner;
    this.summary = summary;
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
    inner.onmessage = (m, extra) => {
      if (m.id !== undefined && m.result?.protocolVersion && summary.protocolVersion === null) {
        summary.protocolVersion = m.result.protocolVersion;
      }
      if (m.method && m.id === undefined) {
        summary.notifications[m.method] = (summary.notifications[m.method] ?? 0) + 1;
      }
      this.onmessage?.(m, extra);
    };
  }
  async start() {
    await this.inner.start();
    const proc = this.inner._process; // private in the SDK; only used to observe the exit
    if (proc) {
      this.summary.child = { pid: proc.pid, exit: null };
      proc.once('exit', (code, signal) => {
        this.summary.child.exit = {
          code,
          signal,
          ms_after_close: this.closedAt === undefined ? null : Date.now() - this.closedAt,
        };
      });
    }
  }
  send(message, options) {
    if (message.method === 'initialize') this.summary.requestedProtocolVersion = message.params?.protocolVersion;
    return this.inner.send(message, options);
  }
  async close() {
    this.closedAt = Date.now();
    return this.inner.close();
  }
  get sessionId() { return this.inner.sessionId; }
  setProtocolVersion(v) { this.inner.setProtocolVersion?.(v); }
}

const summary = {
  steps,
  requestedProtocolVersion: null,
  protocolVersion: null,
  serverVersion: null,
  serverCapabilities: null,
  instructions: null,
  tools: null,
  echo: null,
  progress: null,
  elicit: null,
  sample: null,
  roots: null,
  resources: null,
  resourceText: null,
  prompts: null,
  promptText: null,
  elicitRequest: null,
  header_echo: null,
  reserve: null,
  logging: null,
  listen: null,
  listen_cut: null,
  cancel: null,
  logs: [],
  handled: { elicit: 0, sample: 0, roots: 0 },
  notifications: {},
  child: null,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until every method in `want` was counted since `before` (or `ms` passed); returns
// the counts since `before`.
async function waitNotifications(before, want, ms) {
  const since = () => Object.fromEntries(Object.entries(summary.notifications)
    .filter(([k, v]) => v > (before[k] ?? 0)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !want.every((m) => since()[m])) await sleep(50);
  return since();
}

function toolText(name, result) {
  if (result.isError) {
    throw new Error(`tool ${name} returned isError: ${JSON.stringify(result.content)}`);
  }
  const t = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
  return t;
}

async function main() {
  const client = new Client(
    { name: 'mcp-valet-test-client', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    summary.handled.elicit++;
    summary.elicitRequest = {
      message: request.params.message,
      mode: request.params.mode ?? null,
      requestedSchema: request.params.requestedSchema ?? null,
    };
    if (request.params.requestedSchema?.properties?.quantity) return { action: 'accept', content: { quantity: 3 } };
    return { action: 'accept', content: { name: 'valet' } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    summary.handled.sample++;
    return { role: 'assistant', content: { type: 'text', text: 'sampled-text' }, model: 'mcp-valet-test-model' };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    summary.handled.roots++;
    return { roots: [ROOT] };
  });

  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    summary.logs.push({ level: n.params.level, logger: n.params.logger ?? null, data: n.params.data });
  });

  const transport = new TappedTransport(
    new StdioClientTransport({ command, args, env: { ...process.env }, stderr: 'inherit' }),
    summary,
  );
  let closedEarly = false;
  client.onclose = () => { closedEarly = true; };

  await client.connect(transport, reqOpts);
  summary.serverVersion = client.getServerVersion() ?? null;
  summary.serverCapabilities = client.getServerCapabilities() ?? null;
  summary.instructions = client.getInstructions() ?? null;

  for (const step of steps) {
    switch (step) {
      case 'tools': {
        const r = await client.listTools(undefined, reqOpts);
        summary.tools = r.tools.map((t) => t.name);
        break;
      }
      case 'echo': {
        const r = await client.callTool({ name: 'echo', arguments: { text: 'hello' } }, undefined, reqOpts);
        summary.echo = toolText('echo', r);
        break;
      }
      case 'progress': {
        const seen = [];
        const r = await client.callTool(
          { name: 'progress', arguments: { steps: 5, delay_ms: 20 } },
          undefined,
          { ...reqOpts, onprogress: (p) => seen.push(p.progress) },
        );
        summary.progress = { result: toolText('progress', r), count: seen.length, values: seen };
        break;
      }
      case 'elicit': {
        const r = await client.callTool({ name: 'elicit', arguments: { message: 'What is your name?' } }, undefined, reqOpts);
        summary.elicit = JSON.parse(toolText('elicit', r));
        break;
      }
      case 'sample': {
        const r = await client.callTool({ name: 'sample', arguments: { prompt: 'Say something' } }, undefined, reqOpts);
        summary.sample = toolText('sample', r);
        break;
      }
      case 'roots': {
        const r = await client.callTool({ name: 'roots', arguments: {} }, undefined, reqOpts);
        summary.roots = JSON.parse(toolText('roots', r)).roots;
        break;
      }
      case 'header_echo': {
        const r = await client.callTool(
          { name: 'header_echo', arguments: { region: 'Zürich', priority: 3, urgent: true } }, undefined, reqOpts);
        summary.header_echo = JSON.parse(toolText('header_echo', r));
        break;
      }
      case 'reserve': {
        const r = await client.callTool({ name: 'reserve', arguments: { item: 'widgets' } }, undefined, reqOpts);
        summary.reserve = toolText('reserve', r);
        break;
      }
      case 'logging': {
        const level = process.env.PEER_CLIENT_LOG_LEVEL ?? 'debug';
        // Recorded, not fatal: the Python SDK's MCPServer has no logging/setLevel (-32601).
        let setLevel = 'ok';
        try { await client.setLoggingLevel(level, reqOpts); } catch (e) { setLevel = { error: String(e?.message ?? e), code: e?.code ?? null }; }
        const before = summary.logs.length;
        const r = await client.callTool({ name: 'log_levels', arguments: {} }, undefined, reqOpts);
        await sleep(200); // notifications may trail the result
        summary.logging = { result: toolText('log_levels', r), level, setLevel, logs: summary.logs.slice(before) };
        break;
      }
      case 'listen': {
        // Recorded, not fatal: the Python SDK's MCPServer has no resources/subscribe (-32601).
        let subscribe = 'ok';
        try { await client.subscribeResource({ uri: 'peer://stock' }, reqOpts); } catch (e) { subscribe = { error: String(e?.message ?? e), code: e?.code ?? null }; }
        const before = { ...summary.notifications };
        const r = await client.callTool({ name: 'restock', arguments: {} }, undefined, reqOpts);
        const got = await waitNotifications(before, ['notifications/resources/updated', 'notifications/tools/list_changed'], 5000);
        summary.listen = { result: toolText('restock', r), subscribe, notifications: got };
        break;
      }
      case 'listen_cut': {
        const drop = await client.callTool({ name: 'drop_listeners', arguments: { graceful: false } }, undefined, reqOpts);
        const before = { ...summary.notifications };
        const want = ['notifications/resources/updated', 'notifications/tools/list_changed'];
        const deadline = Date.now() + 10000;
        let restocks = 0;
        let got = {};
        while (Date.now() < deadline) {
          await client.callTool({ name: 'restock', arguments: {} }, undefined, reqOpts);
          restocks++;
          got = await waitNotifications(before, want, 500);
          if (want.every((m) => got[m])) break;
        }
        summary.listen_cut = { drop: JSON.parse(toolText('drop_listeners', drop)), restocks, notifications: got };
        break;
      }
      case 'cancel': {
        const stats = async () => JSON.parse(toolText('stats', await client.callTool({ name: 'stats', arguments: {} }, undefined, reqOpts)));
        const before = await stats();
        const cancelMs = Number(process.env.PEER_CLIENT_CANCEL_MS ?? 300);
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort('test cancels'), cancelMs);
        let outcome;
        try {
          const r = await client.callTool({ name: 'slow', arguments: { ms: 10000 } }, undefined, { ...reqOpts, signal: ac.signal });
          outcome = { finished: toolText('slow', r) };
        } catch (e) {
          outcome = { aborted: String(e?.message ?? e) };
        }
        clearTimeout(timer);
        let after = before;
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          after = await stats();
          if (after.cancelled > before.cancelled) break;
          await sleep(100);
        }
        summary.cancel = { ...outcome, before, after, cancelled: after.cancelled - before.cancelled };
        break;
      }
      case 'resources': {
        const list = await client.listResources(undefined, reqOpts);
        summary.resources = list.resources.map((r) => r.uri);
        if (list.resources.length === 0) throw new Error('resources/list returned no resources');
        // peer://readme where there is one (the 2026-07-28 peers list peer://stock too)
        const uri = list.resources.find((r) => r.uri === 'peer://readme')?.uri ?? list.resources[0].uri;
        const read = await client.readResource({ uri }, reqOpts);
        summary.resourceText = read.contents.map((c) => c.text ?? '').join('');
        break;
      }
      case 'prompts': {
        const list = await client.listPrompts(undefined, reqOpts);
        summary.prompts = list.prompts.map((p) => p.name);
        const got = await client.getPrompt({ name: 'greet', arguments: { name: 'valet' } }, reqOpts);
        summary.promptText = got.messages
          .map((m) => (m.content?.type === 'text' ? m.content.text : ''))
          .join('');
        break;
      }
    }
  }

  if (closedEarly) throw new Error('the connection closed before the client did');
  await client.close();
  // Let the child's 'exit' event land (close() already waited for it, up to its limits).
  await new Promise((r) => setTimeout(r, 20));
}

main().then(
  () => {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`client.mjs: partial summary: ${JSON.stringify(summary)}\n`);
    fail(e?.stack ?? String(e));
  },
);
