#!/usr/bin/env node
// Reference MCP server for mcp-valet's integration tests, built on the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json).
//
//   node tests/peers/server.mjs --mode <stateful-sse|stateful-json|stateless|legacy-sse>
//        [--port 0] [--require-bearer TOKEN] [--retry-ms 500] [--keepalive-ms 15000]
//        [--no-stdin-watch]
//
// Prints exactly one line on stdout once listening:
//   {"listening":"http://127.0.0.1:PORT","mcp":"<MCP endpoint URL>"}
// Everything else goes to stderr. Exits on SIGTERM/SIGINT and when stdin closes
// (unless --no-stdin-watch), so an orphaned peer never outlives its test.
// See README.md for the tools, the modes and the /admin endpoints.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    mode: null,
    port: 0,
    requireBearer: null,
    retryMs: 500,
    keepAliveMs: undefined,
    stdinWatch: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--mode': opts.mode = next(); break;
      case '--port': opts.port = Number(next()); break;
      case '--require-bearer': opts.requireBearer = next(); break;
      case '--retry-ms': opts.retryMs = Number(next()); break;
      case '--keepalive-ms': opts.keepAliveMs = Number(next()); break;
      case '--no-stdin-watch': opts.stdinWatch = false; break;
      case '-h': case '--help':
        process.stderr.write('usage: server.mjs --mode stateful-sse|stateful-json|stateless|legacy-sse [--port N] '
          + '[--require-bearer TOKEN] [--retry-ms N] [--keepalive-ms N] [--no-stdin-watch]\n');
        process.exit(0);
      default: die(`unknown argument: ${a}`);
    }
  }
  const modes = ['stateful-sse', 'stateful-json', 'stateless', 'legacy-sse'];
  if (!modes.includes(opts.mode)) die(`--mode must be one of ${modes.join(', ')}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die('--port must be 0..65535');
  if (!Number.isFinite(opts.retryMs) || opts.retryMs < 0) die('--retry-ms must be >= 0');
  return opts;
}

function die(msg) {
  process.stderr.write(`server.mjs: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const MODE = opts.mode;
const STARTED = process.hrtime.bigint();
const log = (...a) => process.stderr.write(`[peer ${MODE}] ${a.join(' ')}\n`);

// ---------------------------------------------------------------- lifetime

function shutdown(why) {
  log(`exiting: ${why}`);
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (opts.stdinWatch) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

// ---------------------------------------------------------------- event store

// In-memory EventStore (the SDK's EventStore interface) for resumable SSE
// streams. Same idea as the SDK's examples/shared/inMemoryEventStore.js, but
// with a strictly increasing sequence number in the id, so replay order never
// depends on timestamps or random suffixes.
class SeqEventStore {
  constructor() {
    this.seq = 0;
    this.events = new Map(); // eventId -> { streamId, seq, message }
    this.streams = new Map(); // streamId -> [eventId, ...] in order
  }
  async storeEvent(streamId, message) {
    const seq = ++this.seq;
    const eventId = `${streamId}_${String(seq).padStart(8, '0')}`;
    this.events.set(eventId, { streamId, seq, message });
    if (!this.streams.has(streamId)) this.streams.set(streamId, []);
    this.streams.get(streamId).push(eventId);
    return eventId;
  }
  async getStreamIdForEventId(eventId) {
    return this.events.get(eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const last = this.events.get(lastEventId);
    if (!last) return '';
    for (const id of this.streams.get(last.streamId) ?? []) {
      const ev = this.events.get(id);
      // Priming events are stored as {} and carry no message: never replay them.
      if (ev.seq <= last.seq || !ev.message || !ev.message.jsonrpc) continue;
      await send(id, ev.message);
    }
    return last.streamId;
  }
}

// ---------------------------------------------------------------- MCP server

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (t) => ({ content: [{ type: 'text', text: t }] });
const LARGE_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const CLIENT_REQUEST_TIMEOUT_MS = 30000;

function largeText(bytes) {
  return LARGE_ALPHABET.repeat(Math.ceil(bytes / LARGE_ALPHABET.length)).slice(0, bytes);
}

// ctx: { transport(): the session's transport (stateful/legacy modes) }
function makeServer(ctx) {
  const server = new McpServer(
    { name: 'mcp-valet-peer-ts', version: '1.0.0' },
    {
      capabilities: { logging: {} },
      instructions: `mcp-valet test peer (TypeScript SDK, mode ${MODE})`,
    },
  );

  // Where server-to-client requests go. With SSE responses (and in legacy mode,
  // where there is only one stream) they ride on the POST's stream, tied to the
  // tool call. With JSON responses the SDK can only carry the final response on
  // the POST, so they are sent unrelated, i.e. on the standalone GET stream.
  // In stateless mode there is no session a reply could be routed back to (the
  // SDK would send the request and then wait for its timeout), so the tools
  // that need one fail at once instead.
  const clientRequestOptions = (extra) => {
    if (MODE === 'stateless') {
      throw new Error('server-to-client requests are not possible in stateless mode');
    }
    return MODE === 'stateful-json'
      ? { timeout: CLIENT_REQUEST_TIMEOUT_MS }
      : { timeout: CLIENT_REQUEST_TIMEOUT_MS, relatedRequestId: extra.requestId };
  };

  server.registerTool(
    'echo',
    { description: 'Echo the text back', inputSchema: { text: z.string() } },
    async ({ text: t }) => text(t),
  );

  server.registerTool(
    'large',
    {
      description: 'Return one text content of exactly `bytes` ASCII bytes: character i is '
        + `"${LARGE_ALPHABET}"[i % 62]`,
      inputSchema: { bytes: z.number().int().min(0).max(64 * 1024 * 1024) },
    },
    async ({ bytes }) => text(largeText(bytes)),
  );

  server.registerTool(
    'progress',
    {
      description: 'Send `steps` progress notifications (to the request\'s progressToken, if any), '
        + '`delay_ms` apart, then return "done"',
      inputSchema: {
        steps: z.number().int().min(0).max(10000),
        delay_ms: z.number().int().min(0).max(600000).optional(),
      },
    },
    async ({ steps, delay_ms = 0 }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps, message: `step ${i}/${steps}` },
          });
        }
        if (delay_ms > 0) await sleep(delay_ms);
      }
      return text('done');
    },
  );

  server.registerTool(
    'slow',
    { description: 'Wait `ms` milliseconds, then return "slept"', inputSchema: { ms: z.number().int().min(0).max(600000) } },
    async ({ ms }) => {
      await sleep(ms);
      return text('slept');
    },
  );

  server.registerTool(
    'elicit',
    { description: 'Ask the client for a name (elicitation/create, form mode); returns the ElicitResult as JSON',
      inputSchema: { message: z.string() } },
    async ({ message }, extra) => {
      const options = clientRequestOptions(extra);
      const result = await server.server.elicitInput(
        {
          mode: 'form',
          message,
          requestedSchema: {
            type: 'object',
            properties: {
              name: { type: 'string', title: 'Name', description: 'Your name', default: 'anonymous' },
            },
            required: ['name'],
          },
        },
        options,
      );
      return text(JSON.stringify(result));
    },
  );

  server.registerTool(
    'sample',
    { description: 'Ask the client to sample (sampling/createMessage); returns the sampled text',
      inputSchema: { prompt: z.string() } },
    async ({ prompt }, extra) => {
      const result = await server.server.createMessage(
        { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        clientRequestOptions(extra),
      );
      const blocks = Array.isArray(result.content) ? result.content : [result.content];
      return text(blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''));
    },
  );

  server.registerTool(
    'roots',
    { description: 'Call roots/list on the client; returns the ListRootsResult as JSON', inputSchema: {} },
    async (_args, extra) => {
      const result = await server.server.listRoots(undefined, clientRequestOptions(extra));
      return text(JSON.stringify({ roots: result.roots }));
    },
  );

  server.registerTool(
    'elicit_progress',
    { description: 'Send progress 1/3 (to the request\'s progressToken, if any), ask the client for a name '
        + '(elicitation/create), then send progress 2/3 and 3/3; returns the name (or the action)',
      inputSchema: {} },
    async (_args, extra) => {
      const token = extra._meta?.progressToken;
      const progress = async (i) => {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: 3, message: `step ${i}/3` },
          });
        }
      };
      await progress(1);
      const result = await server.server.elicitInput(
        {
          mode: 'form',
          message: 'Who is asking?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        },
        clientRequestOptions(extra),
      );
      await progress(2);
      await progress(3);
      return text(result.content?.name ?? result.action);
    },
  );

  server.registerTool(
    'notify',
    { description: 'Send a logging notification tied to this call and, unrelated to it (standalone GET '
        + 'stream), another logging message and notifications/tools/list_changed; returns "ok"',
      inputSchema: { text: z.string() } },
    async ({ text: t }, extra) => {
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'peer', data: t },
      });
      if (MODE !== 'stateless') {
        await server.server.sendLoggingMessage({ level: 'info', logger: 'peer-standalone', data: t });
        server.sendToolListChanged();
      }
      return text('ok');
    },
  );

  if (MODE === 'stateful-sse') {
    server.registerTool(
      'break_stream',
      { description: 'Send one progress notification (or a logging message if no progressToken), close the '
          + 'POST\'s SSE stream without answering, then answer "resumed-ok" after `after_ms`: the client '
          + 'must resume with GET + Last-Event-ID',
        inputSchema: { after_ms: z.number().int().min(0).max(600000) } },
      async ({ after_ms }, extra) => {
        const token = extra._meta?.progressToken;
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: 1, total: 2, message: 'breaking the stream' },
          });
        } else {
          await extra.sendNotification({
            method: 'notifications/message',
            params: { level: 'info', logger: 'peer', data: 'breaking the stream' },
          });
        }
        if (extra.closeSSEStream) {
          // SEP-1699 hook: the SDK offers it when an event store is configured and
          // the client negotiated >= 2025-11-25 (it got a priming event with retry).
          extra.closeSSEStream();
        } else {
          // Older protocol revisions: the SDK withholds the hook, but the
          // transport's closeSSEStream does the same; the notification above
          // carried an event id, so the client can still resume from it.
          ctx.transport().closeSSEStream(extra.requestId);
        }
        log(`break_stream: closed the SSE stream of request ${extra.requestId}`);
        await sleep(after_ms);
        return text('resumed-ok');
      },
    );
  }

  server.registerResource(
    'peer-readme',
    'peer://readme',
    { title: 'Peer readme', description: 'A static text resource', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'hello from the peer resource' }] }),
  );

  server.registerPrompt(
    'greet',
    { title: 'Greet', description: 'A greeting prompt', argsSchema: { name: z.string() } },
    ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }],
    }),
  );

  return server;
}

// ---------------------------------------------------------------- HTTP plumbing

const requestLog = [];
let failNext = null; // { status, retryAfter, remaining }

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const jsonRpcError = (code, message) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

function pickHeaders(h) {
  const out = {
    'mcp-session-id': h['mcp-session-id'] ?? null,
    'mcp-protocol-version': h['mcp-protocol-version'] ?? null,
    'last-event-id': h['last-event-id'] ?? null,
    accept: h.accept ?? null,
    'content-type': h['content-type'] ?? null,
    'authorization-present': h.authorization !== undefined,
  };
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-test-')) out[k] = v;
  return out;
}

function elapsedMs() {
  return Number(process.hrtime.bigint() - STARTED) / 1e6;
}

async function handleAdmin(req, res, url) {
  const raw = await readBody(req);
  if (req.method === 'GET' && url.pathname === '/admin/log') return sendJson(res, 200, requestLog);
  if (req.method === 'DELETE' && url.pathname === '/admin/log') {
    requestLog.length = 0;
    return sendJson(res, 200, { cleared: true });
  }
  if (req.method === 'POST' && url.pathname === '/admin/drop-sessions') {
    const n = await dropSessions();
    log(`admin: dropped ${n} session(s)`);
    return sendJson(res, 200, { dropped: n });
  }
  if (req.method === 'POST' && url.pathname === '/admin/fail-next') {
    let p;
    try {
      p = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      return sendJson(res, 400, { error: 'body must be JSON {status, retry_after?, count?}' });
    }
    const status = Number(p.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) return sendJson(res, 400, { error: 'status must be an HTTP status' });
    const count = p.count === undefined ? 1 : Number(p.count);
    failNext = count > 0 ? { status, retryAfter: p.retry_after ?? null, remaining: count } : null;
    log(`admin: the next ${count} MCP POST(s) answer ${status}`);
    return sendJson(res, 200, { status, retry_after: p.retry_after ?? null, count });
  }
  return sendJson(res, 404, { error: `no admin endpoint ${req.method} ${url.pathname}` });
}

// ---------------------------------------------------------------- modes

const sessions = new Map(); // session id -> { transport, server }

async function dropSessions() {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) {
    try { await s.transport.close(); } catch (e) { log(`close: ${e}`); }
    try { await s.server.close(); } catch { /* already closed */ }
  }
  return all.length;
}

// stateful-sse / stateful-json: one McpServer + transport per session, routed by
// Mcp-Session-Id (the pattern of the SDK's examples/server/ssePollingExample).
async function handleStateful(req, res, url, body) {
  if (url.pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });
  const sid = req.headers['mcp-session-id'];
  const existing = sid ? sessions.get(sid) : undefined;
  if (existing) return existing.transport.handleRequest(req, res);
  if (sid) return sendJson(res, 404, jsonRpcError(-32001, 'Session not found'));
  if (req.method !== 'POST' || !isInitializeRequest(body)) {
    return sendJson(res, 400, jsonRpcError(-32000, 'Bad Request: No valid session ID provided'));
  }
  let transport;
  const server = makeServer({ transport: () => transport });
  transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: MODE === 'stateful-json',
    eventStore: MODE === 'stateful-sse' ? new SeqEventStore() : undefined,
    retryInterval: MODE === 'stateful-sse' ? opts.retryMs : undefined,
    keepAliveMs: opts.keepAliveMs,
    onsessioninitialized: (id) => {
      sessions.set(id, { transport, server });
      log(`session ${id} initialized`);
    },
    onsessionclosed: (id) => log(`session ${id} closed by DELETE`),
  });
  transport.onclose = () => {
    const id = transport.sessionId;
    if (id && sessions.get(id)?.transport === transport) sessions.delete(id);
  };
  await server.connect(transport);
  return transport.handleRequest(req, res);
}

// stateless: a fresh McpServer + transport for every request (the SDK's
// examples/server/simpleStatelessStreamableHttp pattern); GET/DELETE are 405.
async function handleStateless(req, res, url) {
  if (url.pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });
  if (req.method !== 'POST') {
    return sendJson(res, 405, jsonRpcError(-32000, 'Method not allowed.'), { Allow: 'POST' });
  }
  const server = makeServer({ transport: () => transport });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close().catch(() => {});
    server.close().catch(() => {});
  });
  await server.connect(transport);
  return transport.handleRequest(req, res);
}

// legacy-sse: the 2024-11-05 HTTP+SSE transport (SSEServerTransport).
async function handleLegacy(req, res, url, rawText) {
  if (url.pathname === '/sse') {
    if (req.method !== 'GET') {
      return sendJson(res, 405, { error: 'Method Not Allowed' }, { Allow: 'GET' });
    }
    const transport = new SSEServerTransport('/messages', res);
    const server = makeServer({ transport: () => transport });
    sessions.set(transport.sessionId, { transport, server });
    transport.onclose = () => {
      if (sessions.get(transport.sessionId)?.transport === transport) sessions.delete(transport.sessionId);
    };
    await server.connect(transport); // writes the `endpoint` event
    log(`legacy session ${transport.sessionId} opened`);
    return;
  }
  if (url.pathname === '/messages') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'Method Not Allowed' }, { Allow: 'POST' });
    const sid = url.searchParams.get('sessionId');
    if (!sid) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      return res.end('Missing sessionId parameter');
    }
    const s = sessions.get(sid);
    if (!s) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Session not found');
    }
    return s.transport.handlePostMessage(req, res, rawText);
  }
  return sendJson(res, 404, { error: 'not found' });
}

// ---------------------------------------------------------------- dispatcher

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (url.pathname.startsWith('/admin/')) return await handleAdmin(req, res, url);

    const raw = await readBody(req);
    const rawText = raw.toString('utf8');
    let body = null;
    if (raw.length > 0) {
      try { body = JSON.parse(rawText); } catch { body = null; }
    }
    const entry = {
      t: Math.round(elapsedMs() * 10) / 10,
      method: req.method,
      path: req.url,
      status: null,
      headers: pickHeaders(req.headers),
      body,
    };
    requestLog.push(entry);
    const writeHead = res.writeHead;
    res.writeHead = function (status, ...rest) {
      if (entry.status === null) entry.status = status;
      return writeHead.call(this, status, ...rest);
    };
    res.on('close', () => { if (entry.status === null && res.headersSent) entry.status = res.statusCode; });

    // The SDK's Node transport reads the body through @hono/node-server, which
    // takes an already-read body from `rawBody`: the SDK still parses and
    // validates it itself.
    req.rawBody = raw;

    if (opts.requireBearer !== null && req.headers.authorization !== `Bearer ${opts.requireBearer}`) {
      return sendJson(res, 401, { error: 'invalid_token', error_description: 'missing or wrong bearer token' },
        { 'WWW-Authenticate': 'Bearer' });
    }

    if (req.method === 'POST' && failNext) {
      const f = failNext;
      if (--f.remaining <= 0) failNext = null;
      const headers = { 'Content-Type': 'text/plain' };
      if (f.retryAfter !== null && f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter);
      log(`fail-next: answering ${f.status}`);
      res.writeHead(f.status, headers);
      return res.end(`injected failure ${f.status}\n`);
    }

    switch (MODE) {
      case 'stateful-sse':
      case 'stateful-json':
        return await handleStateful(req, res, url, body);
      case 'stateless':
        return await handleStateless(req, res, url);
      case 'legacy-sse':
        return await handleLegacy(req, res, url, rawText);
    }
  } catch (e) {
    log(`error handling ${req.method} ${req.url}: ${e?.stack ?? e}`);
    if (!res.headersSent) sendJson(res, 500, jsonRpcError(-32603, 'Internal server error'));
    else res.end();
  }
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  const { port } = httpServer.address();
  const base = `http://127.0.0.1:${port}`;
  const mcp = MODE === 'legacy-sse' ? `${base}/sse` : `${base}/mcp`;
  process.stdout.write(`${JSON.stringify({ listening: base, mcp })}\n`);
  log(`listening on ${base}, MCP endpoint ${mcp}`);
});
