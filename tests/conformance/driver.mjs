#!/usr/bin/env node
// The fake desktop host for the MCP conformance suite's client scenarios.
//
// The conformance runner starts a fixture (MCP server, plus an authorization server for auth/*)
// and runs `node driver.mjs <fixture-url>`. This driver launches mcp-valet over stdio with that
// URL, exactly as a desktop client would, and drives it with the official TypeScript SDK's
// Client: initialize, tools/list, tools/call (every tool, or exactly context.toolCalls),
// resources and prompts when advertised; it answers elicitation (schema defaults), sampling and
// roots. mcp-valet does the HTTP and the OAuth, which is what the fixture scores.
//
// Environment (set by the runner): MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON),
// MCP_CONFORMANCE_PROTOCOL_VERSION.
// Environment (set by run.sh or by hand):
//   MCP_VALET_BIN          the binary (default target/debug/mcp-valet in this checkout)
//   MCP_VALET_EXTRA_ARGS   extra mcp-valet arguments, a JSON array (default [])
//   MCP_VALET_VERBOSITY    -v count for mcp-valet's stderr log (default 2: debug)
//   BROWSER                the browser mcp-valet opens (run.sh: ../peers/auth/fakebrowser.mjs)
//   DRIVER_DEADLINE_MS     the driver's own deadline, under the runner's --timeout (default 26000;
//                          the graceful close of mcp-valet can take up to 4 s more)
// Exit status: 0 when every step succeeded, 1 otherwise, 3 on the deadline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ListToolsResultSchema,
  ResultSchema,
} from '@modelcontextprotocol/sdk/types.js';

const CIMD_URL = 'https://conformance-test.local/client-metadata.json';
const started = Date.now();
const say = (...a) => console.error(`[driver +${Date.now() - started}ms]`, ...a);

const serverUrl = process.argv[process.argv.length - 1];
if (!serverUrl || !/^https?:\/\//.test(serverUrl)) {
  console.error('usage: node driver.mjs <server-url>   (the conformance runner appends the URL)');
  process.exit(2);
}
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
let ctx = {};
try {
  ctx = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {};
} catch (e) {
  say('unparseable MCP_CONFORMANCE_CONTEXT:', e.message);
}

// ---- mcp-valet's command line, derived from the scenario -----------------------------------------
const bin = process.env.MCP_VALET_BIN || new URL('../../target/debug/mcp-valet', import.meta.url).pathname;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-valet-conformance-'));
const verbosity = Number(process.env.MCP_VALET_VERBOSITY ?? 2);
const args = [serverUrl, '--token-store', 'memory'];
if (verbosity > 0) args.push(`-${'v'.repeat(verbosity)}`);
const env = { ...process.env, MCP_VALET_HOME: home };
delete env.MCP_VALET_CLIENT_SECRET;
delete env.MCP_VALET_TOKEN_STORE;
if (ctx.client_id) {
  // pre-registered credentials (auth/pre-registration, auth/client-credentials-*); the secret
  // goes through the environment, as a user should pass it, not argv
  args.push('--client-id', ctx.client_id);
  if (ctx.client_secret) env.MCP_VALET_CLIENT_SECRET = ctx.client_secret;
}
if (scenario.startsWith('auth/client-credentials')) args.push('--client-credentials');
if (scenario.startsWith('auth/')) args.push('--client-metadata-url', CIMD_URL);
if (process.env.MCP_VALET_EXTRA_ARGS) args.push(...JSON.parse(process.env.MCP_VALET_EXTRA_ARGS));
say(`scenario=${scenario || '(none)'} protocol=${process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '-'}`);
say(`launch ${bin} ${args.join(' ')}${env.MCP_VALET_CLIENT_SECRET ? ' (MCP_VALET_CLIENT_SECRET set)' : ''}`);

// ---- the host ------------------------------------------------------------------------------------------
const transport = new StdioClientTransport({ command: bin, args, env, stderr: 'inherit' });
const client = new Client(
  { name: 'mcp-valet-conformance-host', version: '0.1.0' },
  { capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } } },
);

function schemaDefaults(schema) {
  const out = {};
  for (const [k, v] of Object.entries(schema?.properties ?? {})) if (v && typeof v === 'object' && 'default' in v) out[k] = v.default;
  return out;
}
client.setRequestHandler(ElicitRequestSchema, async (req) => {
  const content = schemaDefaults(req.params.requestedSchema);
  say('elicitation → accept', JSON.stringify(content));
  return { action: 'accept', content };
});
client.setRequestHandler(CreateMessageRequestSchema, async () => {
  say('sampling → canned completion');
  return { role: 'assistant', model: 'conformance-host', content: { type: 'text', text: 'A canned completion from the test host.' } };
});
client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: `file://${home}`, name: 'scratch' }] }));

// Arguments for a tool call: schema defaults, then a plausible value for each required property.
function sampleArgs(tool) {
  if (tool.name === 'add_numbers') return { a: 5, b: 3 };
  const schema = tool.inputSchema ?? {};
  const args = schemaDefaults(schema);
  const required = new Set(schema.required ?? []);
  for (const [k, v] of Object.entries(schema.properties ?? {})) {
    if (k in args || !required.has(k)) continue;
    const t = Array.isArray(v?.type) ? v.type[0] : v?.type;
    if (v?.enum?.length) args[k] = v.enum[0];
    else if (t === 'number' || t === 'integer') args[k] = 1;
    else if (t === 'boolean') args[k] = true;
    else if (t === 'array') args[k] = [];
    else if (t === 'object') args[k] = {};
    else args[k] = 'test';
  }
  return args;
}

const deadlineMs = Number(process.env.DRIVER_DEADLINE_MS ?? 26000);
const remaining = () => Math.max(1000, deadlineMs - (Date.now() - started) - 1500);
const opts = () => ({ timeout: remaining() });

let closing = false;
async function finish(code, { hard = false } = {}) {
  if (closing && !hard) return;
  closing = true;
  if (hard) {
    // at the deadline there is no time for a graceful close (up to 4 s in the SDK)
    try { if (transport.pid) process.kill(transport.pid, 'SIGKILL'); } catch { /* gone */ }
  } else {
    try { await client.close(); } catch { /* already gone */ }
  }
  fs.rmSync(home, { recursive: true, force: true });
  say(`exit ${code}`);
  process.exit(code);
}
setTimeout(() => { say(`deadline of ${deadlineMs} ms reached`); finish(3, { hard: true }); }, deadlineMs).unref();

let failures = 0;
async function step(label, fn) {
  try {
    const r = await fn();
    say(`${label}: ok`);
    return r;
  } catch (e) {
    // some fixtures serve only part of the protocol (e.g. no tools/call): method-not-found is no failure
    if (e?.code === -32601) {
      say(`${label}: method not found (ignored)`);
      return undefined;
    }
    failures++;
    say(`${label}: FAILED: ${e?.message ?? e}`);
    return undefined;
  }
}

try {
  await client.connect(transport, opts());
  say(`initialized: server ${JSON.stringify(client.getServerVersion())}, protocol ${transport.protocolVersion ?? '?'}`);
  const caps = client.getServerCapabilities() ?? {};
  // tools/list as raw JSON (ResultSchema keeps every key), so that what mcp-valet relayed can be
  // echoed back verbatim (json-schema-2020-12-preservation); the SDK's typed parse checks it too
  const raw = await step('tools/list', () => client.request({ method: 'tools/list', params: {} }, ResultSchema, opts()));
  const tools = raw?.tools ?? [];
  if (raw) {
    const typed = ListToolsResultSchema.safeParse(raw);
    if (!typed.success) say(`tools/list result does not parse as ListToolsResult: ${typed.error.message.slice(0, 300)}`);
  }
  const argsFor = (t) => {
    // the echo tool wants another tool's inputSchema, exactly as received
    if (t.name === 'json_schema_echo') {
      const focal = tools.find((x) => x.name === 'json_schema_2020_12_tool') ?? tools.find((x) => x.name !== t.name);
      return { schema: focal?.inputSchema ?? {} };
    }
    return sampleArgs(t);
  };
  if (Array.isArray(ctx.toolCalls)) {
    for (const c of ctx.toolCalls) await step(`tools/call ${c.name}`, () => client.callTool({ name: c.name, arguments: c.arguments ?? {} }, undefined, opts()));
  } else {
    for (const t of tools) {
      const r = await step(`tools/call ${t.name}`, () => client.callTool({ name: t.name, arguments: argsFor(t) }, undefined, opts()));
      if (r?.isError) say(`tools/call ${t.name} returned isError: ${JSON.stringify(r.content).slice(0, 300)}`);
    }
  }
  if (caps.resources) {
    const list = await step('resources/list', () => client.listResources(undefined, opts()));
    for (const r of list?.resources ?? []) await step(`resources/read ${r.uri}`, () => client.readResource({ uri: r.uri }, opts()));
  }
  if (caps.prompts) {
    const list = await step('prompts/list', () => client.listPrompts(undefined, opts()));
    for (const p of list?.prompts ?? []) {
      const a = {};
      for (const arg of p.arguments ?? []) if (arg.required) a[arg.name] = 'test';
      await step(`prompts/get ${p.name}`, () => client.getPrompt({ name: p.name, arguments: a }, opts()));
    }
  }
} catch (e) {
  failures++;
  say(`FAILED: ${e?.message ?? e}`);
}
await finish(failures ? 1 : 0);
