#!/usr/bin/env node
// A real OAuth-protected MCP server for mcp-valet's tests: the official TypeScript SDK's
// Streamable HTTP server (stateful) on 127.0.0.1, path /mcp, behind a Bearer-JWT check against
// the authorization server's JWKS (as.mjs, or any AS with a JWKS and JWT access tokens).
//
//   node mcp.mjs --issuer http://127.0.0.1:PORT [--port 0] [--scopes-supported "mcp:basic mcp:tools"]
//   → prints {"mcp":"http://127.0.0.1:PORT/mcp","prm":"…"} on stdout when ready.
// See README.md.
import http from 'node:http';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const { values: opt } = parseArgs({
  options: {
    issuer: { type: 'string' },
    port: { type: 'string', default: '0' },
    'scopes-supported': { type: 'string', default: 'mcp:basic mcp:tools' },
    'challenge-scope': { type: 'string' },
    'required-scope': { type: 'string' },
    'admin-scope': { type: 'string', default: 'mcp:admin' },
    'prm-resource': { type: 'string' },
    'no-resource-metadata-header': { type: 'boolean', default: false },
    'root-prm': { type: 'boolean', default: false },
    'max-token-age': { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help || !opt.issuer) {
  process.stderr.write('usage: node mcp.mjs --issuer URL [--port 0] [--scopes-supported "mcp:basic mcp:tools"] '
    + '[--challenge-scope S] [--required-scope S] [--admin-scope mcp:admin] [--prm-resource URI] '
    + '[--no-resource-metadata-header] [--root-prm] [--max-token-age SECONDS] [-v]   (see README.md)\n');
  process.exit(opt.help ? 0 : 2);
}
const log = (...a) => { if (opt.verbose) console.error('[mcp]', ...a); };
const issuer = opt.issuer; // used verbatim: it must equal the metadata's `issuer` and the tokens' `iss`

// ---- the authorization server's metadata and keys ------------------------------------------------
async function fetchAsMetadata() {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname;
  const candidates = [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}/.well-known/openid-configuration${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
  for (const c of candidates) {
    try {
      const r = await fetch(c, { signal: AbortSignal.timeout(5000) });
      if (r.ok) {
        const m = await r.json();
        if (m.issuer === issuer && m.jwks_uri) return m;
      }
    } catch { /* next */ }
  }
  throw new Error(`no usable authorization server metadata for ${issuer}`);
}
const asMeta = await fetchAsMetadata();
const JWKS = jose.createRemoteJWKSet(new URL(asMeta.jwks_uri));

// ---- listen ----------------------------------------------------------------------------------------
const server = http.createServer();
await new Promise((resolve) => server.listen(Number(opt.port), '127.0.0.1', resolve));
const { port } = server.address();
const origin = `http://127.0.0.1:${port}`;
const MCP_URL = `${origin}/mcp`;
const RESOURCE = opt['prm-resource'] ?? MCP_URL;
const PRM_URL = `${origin}/.well-known/oauth-protected-resource/mcp`;
const SCOPES_SUPPORTED = opt['scopes-supported'].split(/\s+/).filter(Boolean);
const ADMIN_SCOPE = opt['admin-scope'];

const prm = {
  resource: RESOURCE,
  authorization_servers: [issuer],
  scopes_supported: SCOPES_SUPPORTED,
  bearer_methods_supported: ['header'],
  resource_name: 'mcp-valet test server (protected)',
};

const freshStats = () => ({
  requests: 0,
  withToken: 0,
  withoutToken: 0,
  accepted: 0,
  invalidToken: 0,
  expiredToken: 0,
  wrongAudience: 0,
  tooOld: 0,
  insufficientScope: 0,
  byHttpMethod: {},
  byRpcMethod: {},
  subjects: {},
  tokenScopes: [],
  prmRequests: { pathAware: 0, root: 0 },
  sessionsCreated: 0,
  sessionsOpen: 0,
  lastRejection: null,
});
let stats = freshStats();
const bump = (obj, k) => { obj[k] = (obj[k] ?? 0) + 1; };

// ---- token check --------------------------------------------------------------------------------------
const q = (s) => `"${String(s).replace(/["\\]/g, '\\$&')}"`;
function challenge({ error, description, scope } = {}) {
  const parts = [];
  if (error) parts.push(`error=${q(error)}`);
  if (description) parts.push(`error_description=${q(description)}`);
  if (scope) parts.push(`scope=${q(scope)}`);
  if (!opt['no-resource-metadata-header']) parts.push(`resource_metadata=${q(PRM_URL)}`);
  return parts.length ? `Bearer ${parts.join(', ')}` : 'Bearer';
}
function reject(res, status, www, body) {
  stats.lastRejection = { status, www };
  res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': www, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function authenticate(req, res) {
  const h = req.headers.authorization;
  if (!h) {
    stats.withoutToken++;
    reject(res, 401, challenge({ scope: opt['challenge-scope'] }), { error: 'unauthorized', error_description: 'a Bearer token is required' });
    return null;
  }
  stats.withToken++;
  const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(h);
  if (!m) {
    stats.invalidToken++;
    reject(res, 401, challenge({ error: 'invalid_request', description: 'malformed Authorization header' }), { error: 'invalid_request' });
    return null;
  }
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(m[1], JWKS, {
      issuer,
      typ: 'at+jwt',
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
    const aud = payload.aud;
    if (!(aud === RESOURCE || (Array.isArray(aud) && aud.length === 1 && aud[0] === RESOURCE))) {
      stats.wrongAudience++;
      throw Object.assign(new Error(`token audience ${JSON.stringify(aud)} is not ${RESOURCE}`), { code: 'AUD' });
    }
    // --max-token-age: the server stops accepting a token early (as after a server-side
    // revocation), so a client must react to the 401 rather than refresh ahead of expiry
    if (opt['max-token-age'] && Date.now() / 1000 - payload.iat > Number(opt['max-token-age'])) {
      stats.tooOld++;
      throw Object.assign(new Error('token older than --max-token-age'), { code: 'TOO_OLD' });
    }
  } catch (e) {
    if (e.code === 'ERR_JWT_EXPIRED') stats.expiredToken++;
    else stats.invalidToken++;
    log('rejected token:', e.code, e.message);
    reject(res, 401, challenge({ error: 'invalid_token', description: e.code === 'ERR_JWT_EXPIRED' ? 'the access token expired' : 'the access token is not valid here', scope: opt['challenge-scope'] }),
      { error: 'invalid_token' });
    return null;
  }
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  if (opt['required-scope'] && !opt['required-scope'].split(' ').every((s) => scopes.includes(s))) {
    stats.insufficientScope++;
    reject(res, 403, challenge({ error: 'insufficient_scope', scope: opt['required-scope'], description: `requires ${opt['required-scope']}` }), { error: 'insufficient_scope' });
    return null;
  }
  bump(stats.subjects, payload.sub);
  stats.tokenScopes.push(scopes.join(' '));
  if (stats.tokenScopes.length > 100) stats.tokenScopes.shift();
  return { token: m[1], clientId: payload.client_id, scopes, expiresAt: payload.exp, extra: { claims: payload } };
}

// ---- the MCP server (one McpServer + transport per session) -----------------------------------------
function newMcpServer() {
  const s = new McpServer({ name: 'mcp-valet-protected-test-server', version: '0.0.1' }, { capabilities: { tools: {} } });
  s.registerTool('echo', {
    description: 'Echoes its text back',
    inputSchema: { text: z.string().default('') },
  }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  s.registerTool('whoami', {
    description: 'Who the access token says the caller is: sub, scopes, client_id, aud, exp',
    inputSchema: {},
  }, async (_args, extra) => {
    const c = extra.authInfo?.extra?.claims ?? {};
    const info = { sub: c.sub, scopes: extra.authInfo?.scopes ?? [], client_id: c.client_id, aud: c.aud, iss: c.iss, exp: c.exp };
    return { content: [{ type: 'text', text: JSON.stringify(info) }], structuredContent: info };
  });
  s.registerTool('admin_op', {
    description: `An operation that needs the ${ADMIN_SCOPE} scope (403 insufficient_scope otherwise)`,
    inputSchema: {},
  }, async (_args, extra) => {
    if (!extra.authInfo?.scopes?.includes(ADMIN_SCOPE)) {
      return { isError: true, content: [{ type: 'text', text: `missing ${ADMIN_SCOPE}` }] };
    }
    return { content: [{ type: 'text', text: `admin operation done for ${extra.authInfo.extra.claims.sub}` }] };
  });
  return s;
}

const sessions = new Map(); // session id → transport

async function readJson(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 4 << 20) throw new Error('body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function rpcError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function handleMcp(req, res) {
  const auth = await authenticate(req, res);
  if (!auth) return;
  let body;
  if (req.method === 'POST') {
    try {
      body = await readJson(req);
    } catch {
      return rpcError(res, 400, -32700, 'Parse error');
    }
    const msgs = Array.isArray(body) ? body : [body];
    for (const m of msgs) if (m && typeof m.method === 'string') bump(stats.byRpcMethod, m.method);
    // the scope check for admin_op happens here, at the HTTP layer, before the SDK
    if (msgs.some((m) => m?.method === 'tools/call' && m.params?.name === 'admin_op') && !auth.scopes.includes(ADMIN_SCOPE)) {
      stats.insufficientScope++;
      return reject(res, 403, challenge({ error: 'insufficient_scope', scope: ADMIN_SCOPE, description: `admin_op requires ${ADMIN_SCOPE}` }),
        { error: 'insufficient_scope' });
    }
  }
  stats.accepted++;
  req.auth = auth;
  const sid = req.headers['mcp-session-id'];
  let transport = sid ? sessions.get(sid) : undefined;
  if (sid && !transport) return rpcError(res, 404, -32001, 'Session not found');
  if (!transport) {
    if (req.method !== 'POST' || !(Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body))) {
      return rpcError(res, 400, -32000, 'Bad Request: no valid session ID provided');
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { sessions.set(id, transport); stats.sessionsCreated++; stats.sessionsOpen = sessions.size; },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      stats.sessionsOpen = sessions.size;
    };
    await newMcpServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      stats.prmRequests.pathAware++;
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      return res.end(JSON.stringify(prm));
    }
    if (url.pathname === '/.well-known/oauth-protected-resource') {
      stats.prmRequests.root++;
      if (!opt['root-prm']) return rpcError(res, 404, -32000, 'Not found');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(prm));
    }
    if (url.pathname === '/test/stats' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(`${JSON.stringify(stats, null, 1)}\n`);
    }
    if (url.pathname === '/test/authorization-servers' && req.method === 'POST') {
      // An authorization-server change (a migration, or a hostile one): the PRM names these
      // from now on; tokens are still checked against --issuer.
      const list = await readJson(req);
      if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) return rpcError(res, 400, -32602, 'a JSON array of issuers');
      prm.authorization_servers = list;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}\n');
    }
    if (url.pathname === '/test/reset' && req.method === 'POST') {
      stats = freshStats();
      stats.sessionsOpen = sessions.size;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}\n');
    }
    if (url.pathname === '/mcp') {
      stats.requests++;
      bump(stats.byHttpMethod, req.method);
      return await handleMcp(req, res);
    }
    return rpcError(res, 404, -32000, 'Not found');
  } catch (e) {
    console.error('[mcp] request failed:', e);
    if (!res.headersSent) rpcError(res, 500, -32603, 'Internal error');
    else res.destroy();
  }
});

process.stdout.write(`${JSON.stringify({ mcp: MCP_URL, prm: PRM_URL })}\n`);
log('ready', MCP_URL, 'issuer', issuer);

const stop = () => { server.close(); server.closeAllConnections?.(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
} catch { /* no stdin */ }
