#!/usr/bin/env node
// Self-test of the auth peers without mcp-valet: a hand-written OAuth client (DCR, PKCE S256,
// resource indicators, RFC 9207 iss, refresh rotation and reuse detection, device flow,
// client credentials, revocation) against as.mjs + mcp.mjs, using fakebrowser.mjs as the user.
//   node --test selftest.mjs          (or: npm test)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';

const here = path.dirname(fileURLToPath(import.meta.url));
const procs = [];

function start(script, args) {
  const p = spawn(process.execPath, [path.join(here, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  procs.push(p);
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: p.stdout });
    rl.once('line', (l) => resolve(JSON.parse(l)));
    p.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
}

let AS; let MCP; let meta;
const b64url = (b) => Buffer.from(b).toString('base64url');
const form = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined)).toString();
const getJson = async (u, init) => { const r = await fetch(u, init); return { status: r.status, headers: r.headers, body: await r.json().catch(() => null) }; };
const post = (u, body, headers = {}) => getJson(u, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: form(body) });
const stats = async () => (await getJson(`${AS.issuer}/test/stats`)).body;

before(async () => {
  AS = await start('as.mjs', ['--access-ttl', '2']);
  meta = (await getJson(`${AS.issuer}/.well-known/openid-configuration`)).body;
  MCP = await start('mcp.mjs', ['--issuer', AS.issuer]);
});
after(() => { for (const p of procs) p.kill('SIGTERM'); });

/** One loopback listener per sign-in, like a native app. */
function listen() {
  return new Promise((resolve) => {
    let got;
    const waiter = new Promise((r) => { got = r; });
    const srv = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://127.0.0.1');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<title>Signed in</title>');
      if (u.pathname === '/callback') got(u.searchParams);
    });
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, params: waiter, close: () => srv.close() }));
  });
}

async function register(redirectUri, extra = {}) {
  const r = await getJson(meta.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'selftest', application_type: 'native', token_endpoint_auth_method: 'none',
      redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'], ...extra,
    }),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function signIn({ scope = 'mcp:basic mcp:tools', user = 'ada', browserEnv = {} } = {}) {
  const cb = await listen();
  // registered without a port; used with the listener's port (RFC 8252 §7.3)
  const client = await register('http://127.0.0.1/callback');
  const redirectUri = `http://127.0.0.1:${cb.port}/callback`;
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const u = new URL(meta.authorization_endpoint);
  u.search = form({
    response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope, state,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256', resource: MCP.mcp,
  });
  const fb = spawn(process.execPath, [path.join(here, 'fakebrowser.mjs'), u.href], { env: { ...process.env, FAKE_BROWSER_USER: user, ...browserEnv }, stdio: 'ignore' });
  await new Promise((r) => fb.once('exit', r));
  const params = await Promise.race([cb.params, new Promise((_, rej) => setTimeout(() => rej(new Error('no redirect')), 10000))]);
  cb.close();
  return { client, params, state, verifier, redirectUri };
}

async function exchange({ client, params, verifier, redirectUri }) {
  return post(meta.token_endpoint, { grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri, code_verifier: verifier, client_id: client.client_id, resource: MCP.mcp });
}

async function mcpCall(token, method, params, sid) {
  const r = await fetch(MCP.mcp, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const text = await r.text();
  const data = text.split('\n').find((l) => l.startsWith('data: '));
  return { status: r.status, www: r.headers.get('www-authenticate'), sid: r.headers.get('mcp-session-id'), body: data ? JSON.parse(data.slice(6)) : (text ? JSON.parse(text) : null) };
}
const init = (token) => mcpCall(token, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'selftest', version: '0' } });

test('metadata: PKCE S256, RFC 9207, DCR, device, revocation, offline_access', () => {
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.ok(meta.registration_endpoint && meta.device_authorization_endpoint && meta.revocation_endpoint);
  assert.ok(meta.scopes_supported.includes('offline_access'));
});

test('MCP server: 401 with resource_metadata, PRM document', async () => {
  const r = await init();
  assert.equal(r.status, 401);
  assert.match(r.www, /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"$/);
  const prm = (await getJson(r.www.match(/resource_metadata="([^"]+)"/)[1])).body;
  assert.equal(prm.resource, MCP.mcp);
  assert.deepEqual(prm.authorization_servers, [AS.issuer]);
  const bad = await init('not-a-jwt');
  assert.equal(bad.status, 401);
  assert.match(bad.www, /error="invalid_token"/);
});

test('code flow with the scripted browser, JWT for the resource, step-up 403, refresh rotation and reuse detection', async () => {
  const s = await signIn();
  assert.equal(s.params.get('state'), s.state);
  assert.equal(s.params.get('iss'), AS.issuer);
  const tok = await exchange(s);
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.ok(tok.body.refresh_token);
  const claims = JSON.parse(Buffer.from(tok.body.access_token.split('.')[1], 'base64url'));
  assert.equal(claims.aud, MCP.mcp);
  assert.equal(claims.sub, 'ada');
  assert.equal(claims.scope, 'mcp:basic mcp:tools');

  const i = await init(tok.body.access_token);
  assert.equal(i.status, 200);
  const who = await mcpCall(tok.body.access_token, 'tools/call', { name: 'whoami', arguments: {} }, i.sid);
  assert.equal(who.body.result.structuredContent.sub, 'ada');
  const admin = await mcpCall(tok.body.access_token, 'tools/call', { name: 'admin_op', arguments: {} }, i.sid);
  assert.equal(admin.status, 403);
  assert.match(admin.www, /error="insufficient_scope"/);
  assert.match(admin.www, /scope="mcp:admin"/);

  // refresh: rotation, then reuse of the old one revokes the grant
  const r1 = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: s.client.client_id, resource: MCP.mcp });
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.notEqual(r1.body.refresh_token, tok.body.refresh_token);
  const before = (await stats()).refreshTokenReuse;
  const reuse = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: s.client.client_id, resource: MCP.mcp });
  assert.equal(reuse.status, 400);
  assert.equal(reuse.body.error, 'invalid_grant');
  assert.equal((await stats()).refreshTokenReuse, before + 1);
  const r2 = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, client_id: s.client.client_id, resource: MCP.mcp });
  assert.equal(r2.status, 400, 'the rotated token died with the grant');

  // expiry (--access-ttl 2)
  await new Promise((r) => setTimeout(r, 3100));
  const late = await init(tok.body.access_token);
  assert.equal(late.status, 401);
  assert.match(late.www, /error="invalid_token"/);
});

test('step-up with mcp:admin, and consent denial', async () => {
  const s = await signIn({ scope: 'mcp:basic mcp:admin', user: 'grace' });
  const tok = await exchange(s);
  const i = await init(tok.body.access_token);
  const admin = await mcpCall(tok.body.access_token, 'tools/call', { name: 'admin_op', arguments: {} }, i.sid);
  assert.equal(admin.status, 200);
  assert.match(admin.body.result.content[0].text, /grace/);
  const d = await signIn({ browserEnv: { FAKE_BROWSER_ACTION: 'deny' } });
  assert.equal(d.params.get('error'), 'access_denied');
  assert.equal(d.params.get('iss'), AS.issuer);
});

test('auto-approve: one 302 straight to the redirect URI', async () => {
  const client = await register('http://127.0.0.1:9/callback');
  const verifier = b64url(randomBytes(32));
  const u = new URL(meta.authorization_endpoint);
  u.search = form({ response_type: 'code', client_id: client.client_id, redirect_uri: 'http://127.0.0.1:9/callback', state: 'xyz', scope: 'mcp:basic', auto_approve: '1', code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256', resource: MCP.mcp });
  const r = await fetch(u, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const loc = new URL(r.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, 'http://127.0.0.1:9/callback');
  assert.ok(loc.searchParams.get('code'));
  const tok = await exchange({ client, params: loc.searchParams, verifier, redirectUri: 'http://127.0.0.1:9/callback' });
  assert.equal(tok.status, 200);
});

test('device flow through the verification page', async () => {
  const client = await register('http://127.0.0.1/callback');
  const d = await post(meta.device_authorization_endpoint, { client_id: client.client_id, scope: 'mcp:basic', resource: MCP.mcp });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  const pending = await post(meta.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.body.device_code, client_id: client.client_id });
  assert.equal(pending.body.error, 'authorization_pending');
  const logFile = path.join(os.tmpdir(), `fb-${process.pid}.log`);
  const fb = spawn(process.execPath, [path.join(here, 'fakebrowser.mjs'), d.body.verification_uri_complete], { env: { ...process.env, FAKE_BROWSER_FOREGROUND: '1', FAKE_BROWSER_LOG: logFile } });
  assert.equal(await new Promise((r) => fb.once('exit', r)), 0, fs.readFileSync(logFile, 'utf8'));
  const t = await post(meta.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.body.device_code, client_id: client.client_id });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(JSON.parse(Buffer.from(t.body.access_token.split('.')[1], 'base64url')).aud, MCP.mcp);
  const log = fs.readFileSync(logFile, 'utf8');
  assert.doesNotMatch(log, new RegExp(d.body.user_code));
});

test('ID token carries preferred_username and email; a pre-registered public client (POST /test/clients)', async () => {
  const r = await getJson(`${AS.issuer}/test/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'fixed-public', redirect_uris: ['http://127.0.0.1/callback'] }) });
  assert.equal(r.status, 201);
  const cb = await listen();
  const redirectUri = `http://127.0.0.1:${cb.port}/callback`;
  const verifier = b64url(randomBytes(32));
  const u = new URL(meta.authorization_endpoint);
  u.search = form({ response_type: 'code', client_id: 'fixed-public', redirect_uri: redirectUri, scope: 'openid mcp:basic', state: 's', code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256', resource: MCP.mcp, auto_approve: '1', login_hint: 'grace' });
  const fb = spawn(process.execPath, [path.join(here, 'fakebrowser.mjs'), u.href], { env: process.env, stdio: 'ignore' });
  await new Promise((res) => fb.once('exit', res));
  const params = await cb.params;
  cb.close();
  const tok = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri, code_verifier: verifier, client_id: 'fixed-public', resource: MCP.mcp });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  const id = JSON.parse(Buffer.from(tok.body.id_token.split('.')[1], 'base64url'));
  assert.equal(id.sub, 'grace');
  assert.equal(id.preferred_username, 'grace');
  assert.equal(id.email, 'grace@example.test');
  assert.equal(JSON.parse(Buffer.from(tok.body.access_token.split('.')[1], 'base64url')).aud, MCP.mcp);
});

test('device flow approved by the AS itself in auto-approve mode', async () => {
  await getJson(`${AS.issuer}/test/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ autoApprove: true }) });
  try {
    const client = await register('http://127.0.0.1/callback');
    const d = await post(meta.device_authorization_endpoint, { client_id: client.client_id, scope: 'mcp:basic', resource: MCP.mcp });
    let t;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 250));
      t = await post(meta.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.body.device_code, client_id: client.client_id });
      if (t.status === 200 || t.body.error !== 'authorization_pending') break;
    }
    assert.equal(t.status, 200, JSON.stringify(t.body));
  } finally {
    await getJson(`${AS.issuer}/test/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ autoApprove: false }) });
  }
});

test('headless Chromium drives the real login and consent pages', { skip: !fs.existsSync('/usr/bin/chromium') && 'no /usr/bin/chromium (apt-get install chromium)' }, async () => {
  const cb = await listen();
  const client = await register('http://127.0.0.1/callback');
  const redirectUri = `http://127.0.0.1:${cb.port}/callback`;
  const u = new URL(meta.authorization_endpoint);
  u.search = form({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'mcp:basic', state: 'c', code_challenge: b64url(createHash('sha256').update('x'.repeat(43)).digest()), code_challenge_method: 'S256', resource: MCP.mcp });
  const shot = path.join(os.tmpdir(), `chromium-selftest-${process.pid}.png`);
  const p = spawn(process.execPath, [path.join(here, 'chromium.mjs'), u.href], { env: { ...process.env, FAKE_BROWSER_FOREGROUND: '1', FAKE_BROWSER_USER: 'linus', CHROMIUM_SCREENSHOT: shot }, stdio: 'ignore' });
  const code = await new Promise((r) => p.once('exit', r));
  const params = await cb.params;
  cb.close();
  assert.ok(params.get('code'));
  assert.equal(code, 0, 'the final page said "Signed in"');
  assert.ok(fs.statSync(shot).size > 1000);
  fs.rmSync(shot, { force: true });
  assert.equal((await stats()).logins.linus, 1);
});

test('client credentials (pre-registered confidential client)', async () => {
  const basic = `Basic ${Buffer.from('valet-service:valet-service-secret').toString('base64')}`;
  const t = await post(meta.token_endpoint, { grant_type: 'client_credentials', scope: 'mcp:basic', resource: MCP.mcp }, { authorization: basic });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.body.refresh_token, undefined);
  const i = await init(t.body.access_token);
  assert.equal(i.status, 200);
});

test('revocation (RFC 7009) of a refresh token; JWT access tokens cannot be revoked', async () => {
  const s0 = await signIn();
  const tok = await exchange(s0);
  const rv = await post(meta.revocation_endpoint, { token: tok.body.refresh_token, token_type_hint: 'refresh_token', client_id: s0.client.client_id });
  assert.equal(rv.status, 200);
  const r = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: s0.client.client_id });
  assert.equal(r.body.error, 'invalid_grant');
  const at = await post(meta.revocation_endpoint, { token: tok.body.access_token, client_id: s0.client.client_id });
  assert.equal(at.body.error, 'unsupported_token_type');
  const s = await stats();
  assert.ok(s.token.client_credentials >= 1 && s.revocations >= 1 && s.authorizationRequests >= 3);
});
