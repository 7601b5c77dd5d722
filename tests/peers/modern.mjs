#!/usr/bin/env node
// A modern-only (2026-07-28) MCP server for mcp-valet's integration tests, built on the
// official TypeScript SDK v2 (@modelcontextprotocol/server 2.4.0):
// createMcpHandler(factory, { legacy: 'reject' }) — no initialize, no sessions, no GET;
// every 2025-era request is answered 400 + -32022 {supported, requested}.
//
//   node tests/peers/modern.mjs [--port 0] [--require-bearer TOKEN] [--keepalive-ms N]
//        [--response-mode auto|sse|json] [--no-stdin-watch]
//
// Prints exactly one line on stdout once listening:
//   {"listening":"http://127.0.0.1:PORT","mcp":"http://127.0.0.1:PORT/mcp"}
// Everything else goes to stderr. Exits on SIGTERM/SIGINT and when stdin closes (unless
// --no-stdin-watch). The HTTP plumbing is node:http + the handler's web-standard `fetch`
// face (toWebRequest from @modelcontextprotocol/node builds the Request), so the peer can
// log every exchange and cut listen streams itself. See README.md for the tools and the
// /admin endpoints (the same as server.mjs's, plus /admin/drop-listeners and /admin/state).
import http from 'node:http';

import { toWebRequest } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  acceptedContent,
  McpServer,
} from '@modelcontextprotocol/server';
import * as z from 'zod/v4';

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = { port: 0, requireBearer: null, keepAliveMs: 15000, responseMode: 'auto', stdinWatch: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--port': opts.port = Number(next()); break;
      case '--require-bearer': opts.requireBearer = next(); break;
      case '--keepalive-ms': opts.keepAliveMs = Number(next()); break;
      case '--response-mode': opts.responseMode = next(); break;
      case '--no-stdin-watch': opts.stdinWatch = false; break;
      case '-h': case '--help':
        process.stderr.write('usage: modern.mjs [--port N] [--require-bearer TOKEN] [--keepalive-ms N] '
          + '[--response-mode auto|sse|json] [--no-stdin-watch]\n');
        process.exit(0);
      default: die(`unknown argument: ${a}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die('--port must be 0..65535');
  if (!['auto', 'sse', 'json'].includes(opts.responseMode)) die('--response-mode must be auto, sse or json');
  return opts;
}

function die(msg) {
  process.stderr.write(`modern.mjs: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const STARTED = process.hrtime.bigint();
const log = (...a) => process.stderr.write(`[peer modern-ts] ${a.join(' ')}\n`);

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

// ---------------------------------------------------------------- the MCP server

const LARGE_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
// What became of every `slow` call (the stats tool, GET /admin/state).
const SLOW = { started: 0, completed: 0, cancelled: 0 };
const text = (t) => ({ content: [{ type: 'text', text: t }] });
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')); }, { once: true });
});

function mcpHeaders(ctx) {
  const out = {};
  const headers = ctx.http?.req?.headers;
  if (headers) {
    for (const [k, v] of headers) {
      if (['mcp-protocol-version', 'mcp-method', 'mcp-name'].includes(k) || k.startsWith('mcp-param-')) out[k] = v;
    }
  }
  return out;
}

// One McpServer per HTTP exchange (createMcpHandler calls the factory per request).
function makeServer() {
  const server = new McpServer(
    { name: 'mcp-valet-peer-modern-ts', version: '1.0.0' },
    {
      capabilities: {
        logging: {},
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        prompts: { listChanged: true },
      },
      instructions: 'mcp-valet test peer (TypeScript SDK v2, modern only)',
    },
  );

  server.registerTool('echo', { description: 'Echo the text back', inputSchema: z.object({ text: z.string() }) },
    async ({ text: t }) => text(t));

  server.registerTool('large', {
    description: `One text content of exactly \`bytes\` ASCII bytes: character i is "${LARGE_ALPHABET}"[i % 62]`,
    inputSchema: z.object({ bytes: z.number().int().min(0).max(64 * 1024 * 1024) }),
  }, async ({ bytes }) => text(LARGE_ALPHABET.repeat(Math.ceil(bytes / 62) + 1).slice(0, bytes)));

  server.registerTool('progress', {
    description: 'Send `steps` progress notifications, `delay_ms` apart, then return "done"',
    inputSchema: z.object({ steps: z.number().int().min(0), delay_ms: z.number().int().min(0).optional() }),
  }, async ({ steps, delay_ms: delay = 0 }, ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
      }
      if (delay > 0) await sleep(delay);
    }
    return text('done');
  });

  server.registerTool('slow', {
    description: 'Wait `ms` milliseconds, then return "slept" (counted: see the stats tool)',
    inputSchema: z.object({ ms: z.number().int().min(0) }),
  }, async ({ ms }, ctx) => {
    SLOW.started++;
    log(`slow: started (${ms} ms)`);
    try {
      await sleep(ms, ctx.mcpReq.signal);
    } catch {
      SLOW.cancelled++;
      log('slow: cancelled');
      throw new Error('cancelled');
    }
    SLOW.completed++;
    return text('slept');
  });

  server.registerTool('stats', { description: "The slow tool's counters as JSON: {started, completed, cancelled}" },
    async () => text(JSON.stringify(SLOW)));

  // x-mcp-header needs a raw JSON Schema: fromJsonSchema keeps the annotation as written.
  server.registerTool('header_echo', {
    description: 'Return the arguments and the Mcp-* headers this call arrived with, as JSON',
    inputSchema: fromJsonSchema({
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        priority: { type: 'integer', 'x-mcp-header': 'Priority' },
        urgent: { type: 'boolean', 'x-mcp-header': 'Urgent' },
        note: { type: 'string' },
      },
      required: ['region'],
    }),
  }, async (args, ctx) => text(JSON.stringify({
    arguments: { region: args.region, priority: args.priority ?? null, urgent: args.urgent ?? null, note: args.note ?? null },
    headers: mcpHeaders(ctx),
    protocolVersion: ctx.mcpReq.envelope?.['io.modelcontextprotocol/protocolVersion'] ?? null,
  })));

  // The SDK lists it (with a console.warn); a conforming client must drop it.
  server.registerTool('bad_header', {
    description: 'Declares an invalid x-mcp-header (not an RFC 9110 token): a conforming client drops this tool',
    inputSchema: fromJsonSchema({
      type: 'object',
      properties: { q: { type: 'string', 'x-mcp-header': 'Bad Header' } },
      required: ['q'],
    }),
  }, async ({ q }) => text(q));

  // Multi round-trip: first round input_required (one form elicitation, requestState
  // "round-1"), the retry with the answer completes.
  server.registerTool('reserve', {
    description: 'Reserve some of `item`: asks the client how many (input_required with one elicitation)',
    inputSchema: z.object({ item: z.string() }),
  }, async ({ item }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'quantity');
    const state = ctx.mcpReq.requestState();
    if (answer && typeof answer.quantity === 'number') {
      if (state !== 'round-1') throw new Error(`unexpected requestState ${JSON.stringify(state)}`);
      return text(`reserved ${answer.quantity} ${item}`);
    }
    return inputRequired({
      inputRequests: {
        quantity: inputRequired.elicit({
          message: `How many ${item}?`,
          requestedSchema: {
            type: 'object',
            properties: { quantity: { type: 'integer', minimum: 1, description: 'How many?' } },
            required: ['quantity'],
          },
        }),
      },
      requestState: 'round-1',
    });
  });

  server.registerTool('restock', {
    description: 'Publish resources/updated for peer://stock, tools/list_changed and resources/list_changed to listen streams',
  }, async () => {
    handler.notify.resourceUpdated('peer://stock');
    handler.notify.toolsChanged();
    handler.notify.resourcesChanged();
    return text('restocked');
  });

  server.registerTool('log_levels', {
    description: 'Log one message at each of debug, info, warning and error (logger "peer-levels"), then return "logged"',
  }, async (ctx) => {
    for (const level of ['debug', 'info', 'warning', 'error']) {
      await ctx.mcpReq.log(level, `${level} message`, 'peer-levels');
    }
    return text('logged');
  });

  server.registerTool('drop_listeners', {
    description: 'End every open subscriptions/listen stream: graceful (final result) or cut (no result, the client must re-listen)',
    inputSchema: z.object({ graceful: z.boolean().optional() }),
  }, async ({ graceful = false }) => text(JSON.stringify({ dropped: cutListeners(graceful), graceful })));

  server.registerResource('peer-readme', 'peer://readme', { title: 'Peer readme', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'hello from the peer resource' }] }));
  server.registerResource('peer-stock', 'peer://stock', { title: 'Stock', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'in stock' }] }));

  server.registerPrompt('greet', { title: 'Greet', argsSchema: z.object({ name: z.string() }) },
    async ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }] }));
  return server;
}

const handler = createMcpHandler(() => makeServer(), {
  legacy: 'reject',
  responseMode: opts.responseMode,
  keepAliveMs: opts.keepAliveMs,
  onerror: (e) => log(`handler: ${e?.message ?? e}`),
});

// ---------------------------------------------------------------- listen streams

// Open subscriptions/listen responses: cut() ends the HTTP response right there, without
// the listen result (a bare disconnect: the client must re-listen).
const listeners = new Set();

function cutListeners(graceful) {
  const all = [...listeners];
  for (const l of all) l.cut(graceful);
  log(`cut ${all.length} listen stream(s) (${graceful ? 'graceful' : 'abrupt'})`);
  return all.length;
}

// ---------------------------------------------------------------- HTTP plumbing

const requestLog = [];
let failNext = null;

function elapsedMs() {
  return Number(process.hrtime.bigint() - STARTED) / 1e6;
}

function pickHeaders(h) {
  const out = {
    'mcp-session-id': h['mcp-session-id'] ?? null,
    'mcp-protocol-version': h['mcp-protocol-version'] ?? null,
    'last-event-id': h['last-event-id'] ?? null,
    accept: h.accept ?? null,
    'content-type': h['content-type'] ?? null,
    'authorization-present': h.authorization !== undefined,
    'mcp-method': h['mcp-method'] ?? null,
    'mcp-name': h['mcp-name'] ?? null,
  };
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-test-') || k.startsWith('mcp-param-')) out[k] = v;
  return out;
}

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

async function handleAdmin(req, res, url) {
  const raw = await readBody(req);
  let p = {};
  try { p = raw.length ? JSON.parse(raw.toString('utf8')) : {}; } catch { p = null; }
  if (req.method === 'GET' && url.pathname === '/admin/log') return sendJson(res, 200, requestLog);
  if (req.method === 'DELETE' && url.pathname === '/admin/log') {
    requestLog.length = 0;
    return sendJson(res, 200, { cleared: true });
  }
  if (req.method === 'GET' && url.pathname === '/admin/state') {
    return sendJson(res, 200, { slow: SLOW, listeners: listeners.size });
  }
  if (req.method === 'POST' && url.pathname === '/admin/drop-listeners') {
    return sendJson(res, 200, { dropped: cutListeners(Boolean(p?.graceful)) });
  }
  if (req.method === 'POST' && url.pathname === '/admin/fail-next') {
    if (!p || !Number.isInteger(p.status)) return sendJson(res, 400, { error: 'body must be JSON {status, retry_after?, count?}' });
    const count = p.count ?? 1;
    failNext = count > 0 ? { status: p.status, retryAfter: p.retry_after ?? null, remaining: count } : null;
    log(`admin: the next ${count} MCP POST(s) answer ${p.status}`);
    return sendJson(res, 200, { status: p.status, retry_after: p.retry_after ?? null, count });
  }
  return sendJson(res, 404, { error: `no admin endpoint ${req.method} ${url.pathname}` });
}

// Writes a web Response to the Node response; a listen stream is registered so that
// cutListeners() can end it.
async function writeResponse(res, response, listenId) {
  const isListen = listenId !== undefined;
  const headers = {};
  response.headers.forEach((v, k) => { headers[k] = v; });
  res.writeHead(response.status, headers);
  if (!response.body) return res.end();
  const reader = response.body.getReader();
  let listener = null;
  if (isListen) {
    listener = {
      cut: (graceful) => {
        listeners.delete(listener);
        reader.cancel().catch(() => {});
        // The handler has no per-stream graceful close, so the peer writes the final frame
        // the spec describes itself: the listen result, stamped with the subscription id.
        if (graceful && !res.writableEnded) {
          const result = { resultType: 'complete', _meta: { 'io.modelcontextprotocol/subscriptionId': listenId } };
          res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: listenId, result })}\n\n`);
        }
        res.end();
      },
    };
    listeners.add(listener);
  }
  res.on('close', () => {
    if (listener) listeners.delete(listener);
    reader.cancel().catch(() => {});
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.writableEnded) break;
      res.write(value);
    }
  } catch { /* cancelled */ }
  if (listener) listeners.delete(listener);
  if (!res.writableEnded) res.end();
}

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (url.pathname.startsWith('/admin/')) return await handleAdmin(req, res, url);

    const raw = await readBody(req);
    let body = null;
    if (raw.length > 0) {
      try { body = JSON.parse(raw.toString('utf8')); } catch { body = null; }
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

    if (opts.requireBearer !== null && req.headers.authorization !== `Bearer ${opts.requireBearer}`) {
      return sendJson(res, 401, { error: 'invalid_token', error_description: 'missing or wrong bearer token' },
        { 'WWW-Authenticate': 'Bearer' });
    }
    if (req.method === 'POST' && failNext) {
      const f = failNext;
      if (--f.remaining <= 0) failNext = null;
      const headers = { 'Content-Type': 'text/plain' };
      if (f.retryAfter !== null) headers['Retry-After'] = String(f.retryAfter);
      log(`fail-next: answering ${f.status}`);
      res.writeHead(f.status, headers);
      return res.end(`injected failure ${f.status}\n`);
    }
    if (url.pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });

    // The abort signal ends the exchange when the client goes away (HTTP cancellation).
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(); });
    // toWebRequest takes the already-parsed body; a body that is not JSON goes in as bytes so
    // the SDK answers it itself (parse error).
    const request = body !== null
      ? await toWebRequest(req, body, { signal: abort.signal })
      : new Request(new URL(req.url, `http://${req.headers.host ?? '127.0.0.1'}`), {
        method: req.method,
        headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
        body: raw.length && req.method !== 'GET' && req.method !== 'HEAD' ? raw : undefined,
        signal: abort.signal,
      });
    const response = await handler.fetch(request, body !== null ? { parsedBody: body } : undefined);
    return await writeResponse(res, response, body?.method === 'subscriptions/listen' ? body.id : undefined);
  } catch (e) {
    log(`error handling ${req.method} ${req.url}: ${e?.stack ?? e}`);
    if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal server error' } });
    else res.end();
  }
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  const { port } = httpServer.address();
  const base = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ listening: base, mcp: `${base}/mcp` })}\n`);
  log(`listening on ${base}, MCP endpoint ${base}/mcp (legacy: 'reject', responseMode ${opts.responseMode})`);
});
