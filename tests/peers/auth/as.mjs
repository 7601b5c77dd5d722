#!/usr/bin/env node
// A real OAuth 2.1 / OpenID Connect authorization server for mcp-valet's tests: oidc-provider
// (node-oidc-provider 9.x) on 127.0.0.1, with its own minimal login / consent / device pages.
// See README.md for every option and test endpoint.
//
//   node as.mjs [--port 0] [--access-ttl 600] [--auto-approve] …
//   → prints {"issuer":"http://127.0.0.1:PORT","port":PORT} on stdout when ready.
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

import { drive } from './lib/browse.mjs';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-ttl': { type: 'string', default: '600' },
    'refresh-ttl': { type: 'string', default: String(14 * 24 * 3600) },
    'device-ttl': { type: 'string', default: '600' },
    'auto-approve': { type: 'boolean', default: false },
    'auto-user': { type: 'string', default: 'ada' },
    'resource-scopes': { type: 'string', default: 'mcp:basic mcp:tools mcp:admin' },
    'withhold-scope': { type: 'string', multiple: true, default: [] },
    'public-client': { type: 'string', multiple: true, default: [] },
    'confidential-client': { type: 'string', multiple: true, default: [] },
    resource: { type: 'string', multiple: true, default: [] },
    'default-resource': { type: 'string' },
    'strict-resources': { type: 'boolean', default: false },
    'refresh-requires-offline-access': { type: 'boolean', default: false },
    'no-refresh-rotation': { type: 'boolean', default: false },
    'no-registration': { type: 'boolean', default: false },
    rfc8414: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  process.stdout.write(fs.readFileSync(new URL('./README.md', import.meta.url), 'utf8'));
  process.exit(0);
}

const log = (...a) => { if (opt.verbose) console.error('[as]', ...a); };
const INTERNAL = randomBytes(16).toString('hex'); // marks the auto-approve driver's own requests

// ---- mutable test state (POST /test/config changes it) -------------------------------------
const state = {
  accessTtl: Number(opt['access-ttl']),
  refreshTtl: Number(opt['refresh-ttl']),
  autoApprove: opt['auto-approve'],
  autoUser: opt['auto-user'],
  resourceScopes: opt['resource-scopes'],
  withholdScopes: [...opt['withhold-scope']],
  strictResources: opt['strict-resources'],
  resources: new Set(opt.resource),
  defaultResource: opt['default-resource'] ?? null,
  refreshRequiresOfflineAccess: opt['refresh-requires-offline-access'],
  rotateRefresh: !opt['no-refresh-rotation'],
};

const LOG_MAX = 200;
const freshStats = () => ({
  authorizationRequests: 0,
  authorizationRequestLog: [],
  token: {},
  tokenErrors: {},
  tokenRequestLog: [],
  refreshRotations: 0,
  refreshTokenReuse: 0,
  grantsRevoked: 0,
  registrations: 0,
  registrationLog: [],
  revocations: 0,
  deviceAuthorizations: 0,
  deviceAutoApprovals: 0,
  logins: {},
  consents: 0,
  denials: 0,
  metadataRequests: {},
  userinfo: 0,
});
let stats = freshStats();
const pushLog = (arr, item) => { arr.push(item); if (arr.length > LOG_MAX) arr.shift(); };

// ---- keys, clients --------------------------------------------------------------------------
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: `rs-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };

function publicClientMetadata(id, redirectUris) {
  return {
    client_id: id,
    client_name: `pre-registered ${id}`,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
  };
}

const staticClients = [];
for (const spec of opt['public-client']) {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--public-client wants ID=URI[,URI…], got ${spec}`);
  staticClients.push(publicClientMetadata(spec.slice(0, eq), spec.slice(eq + 1).split(',').filter(Boolean)));
}
const confidential = opt['confidential-client'].length ? opt['confidential-client'] : ['valet-service:valet-service-secret'];
for (const spec of confidential) {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new Error(`--confidential-client wants ID:SECRET, got ${spec}`);
  staticClients.push({
    client_id: spec.slice(0, colon),
    client_secret: spec.slice(colon + 1),
    client_name: `confidential ${spec.slice(0, colon)}`,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    // native + loopback: oidc-provider ignores the port when matching (RFC 8252 §7.3)
    redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback', 'http://127.0.0.1/', 'http://localhost/'],
  });
}

// ---- pages ----------------------------------------------------------------------------------
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const page = (title, body) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:30em;margin:3em auto;padding:0 1em;color:#222}
h1{font-weight:400}input[type=text]{font-size:16px;width:100%;box-sizing:border-box;padding:.5em;margin:.5em 0}
button{font-size:15px;padding:.5em 1.2em;margin:.3em .3em .3em 0}ul{padding-left:1.2em}code{background:#eee;padding:0 .2em}</style>
</head><body><h1>${esc(title)}</h1>${body}</body></html>`;

function loginPage(uid, details, client) {
  const hint = details.params.login_hint ?? '';
  return page('Sign in', `
<p>Sign in to continue to <strong id="client-name">${esc(client?.clientName ?? details.params.client_id)}</strong>.
Any user name is accepted.</p>
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="username">User name</label>
  <input id="username" name="username" type="text" value="${esc(hint)}" autofocus required>
  <button id="login" type="submit">Sign in</button>
</form>
<form id="abort-form" method="post" action="/interaction/${esc(uid)}/abort"><button id="cancel" type="submit">Cancel</button></form>`);
}

function consentPage(uid, details, client) {
  const d = details.prompt.details ?? {};
  const scopes = [...(d.missingOIDCScope ?? [])];
  for (const [, s] of Object.entries(d.missingResourceScopes ?? {})) scopes.push(...s);
  const resources = Object.keys(d.missingResourceScopes ?? {});
  const res = [].concat(details.params.resource ?? []);
  return page('Authorize access', `
<p><strong id="client-name">${esc(client?.clientName ?? details.params.client_id)}</strong> wants to act as
<strong id="account">${esc(details.session?.accountId)}</strong>.</p>
<p>Scopes: <span id="scopes">${scopes.length ? scopes.map((s) => `<code>${esc(s)}</code>`).join(' ') : '(none new)'}</span></p>
<p>Resource: <span id="resource">${esc(res.join(' ') || resources.join(' ') || '(none)')}</span></p>
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
  <button id="consent" type="submit">Allow</button>
</form>
<form id="deny-form" method="post" action="/interaction/${esc(uid)}/abort">
  <button id="deny" type="submit">Deny</button>
</form>`);
}

// ---- provider ---------------------------------------------------------------------------------
const server = http.createServer();
await new Promise((resolve) => server.listen(Number(opt.port), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

function resourceAllowed(indicator) {
  if (state.resources.has(indicator)) return true;
  if (state.strictResources) return false;
  const u = URL.parse(indicator);
  return !!u && (u.protocol === 'http:' || u.protocol === 'https:') && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

const configuration = {
  clients: staticClients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, email: `${id}@example.test`, email_verified: true };
      },
    };
  },
  claims: {
    openid: ['sub', 'preferred_username', 'email'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  conformIdTokenClaims: false,
  responseTypes: ['code', 'none'],
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: !opt['no-registration'], initialAccessToken: false },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: false },
    deviceFlow: {
      enabled: true,
      async userCodeInputSource(ctx, form, _out, err) {
        const f = form
          .replace('name="user_code"', 'id="user-code" name="user_code"')
          .replace('</form>', '<button id="continue" type="submit">Continue</button></form>');
        const msg = err ? `<p id="error">${err.userCode || err.name === 'NoCodeError' ? 'That code is not valid. Try again.' : 'Something went wrong. Try again.'}</p>` : '<p>Enter the code shown on your device.</p>';
        ctx.type = 'html';
        ctx.body = page('Device sign-in', `${msg}${f}`);
      },
      async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
        const f = form.replace('</form>', '<button id="confirm" type="submit">Continue</button><button id="abort" type="submit" name="abort" value="yes">Abort</button></form>');
        ctx.type = 'html';
        ctx.body = page('Confirm device', `<p><strong id="client-name">${esc(client.clientName || client.clientId)}</strong> asks to sign in. Check that your device shows <code id="shown-code">${esc(userCode)}</code>.</p>${f}`);
      },
      async successSource(ctx) {
        ctx.type = 'html';
        ctx.body = page('Device signed in', '<p id="device-success">Your device is signed in. You can close this page.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      // with no `resource` parameter: --default-resource (an "audience by default", as some
      // hosted ASes have); without it, oidc-provider issues an opaque token for userinfo only
      async defaultResource(_ctx, _client, oneOf) { return oneOf ?? state.defaultResource ?? undefined; },
      async useGrantedResource() { return true; },
      async getResourceServerInfo(_ctx, indicator) {
        if (!resourceAllowed(indicator)) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
        return {
          scope: state.resourceScopes,
          audience: indicator, // exactly as requested, which is the PRM `resource` string
          accessTokenTTL: state.accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: () => state.accessTtl,
    ClientCredentials: () => state.accessTtl,
    RefreshToken: () => state.refreshTtl,
    AuthorizationCode: 120,
    DeviceCode: Number(opt['device-ttl']),
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  async issueRefreshToken(_ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return !state.refreshRequiresOfflineAccess || code.scopes.has('offline_access');
  },
  rotateRefreshToken: () => state.rotateRefresh,
  async expiresWithSession() { return false; },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<p id="error"><code>${esc(out.error)}</code>: ${esc(out.error_description)}</p>`);
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('[as] server_error', err));
provider.on('grant.revoked', () => { stats.grantsRevoked++; });
// oidc-provider answers every invalid_grant with a generic description; the detail is on the error.
provider.on('grant.error', (ctx, err) => { ctx.state.errorDetail = err.error_detail; });

// Bookkeeping of the token, registration, revocation and device endpoints.
provider.use(async (ctx, next) => {
  await next();
  const route = ctx.oidc?.route;
  if (route === 'token') {
    const gt = ctx.oidc.params?.grant_type ?? 'unknown';
    stats.token[gt] = (stats.token[gt] ?? 0) + 1;
    const body = typeof ctx.body === 'object' && ctx.body ? ctx.body : {};
    const ok = ctx.status === 200;
    if (!ok) {
      stats.tokenErrors[gt] ??= {};
      stats.tokenErrors[gt][body.error ?? ctx.status] = (stats.tokenErrors[gt][body.error ?? ctx.status] ?? 0) + 1;
    }
    const detail = ctx.state.errorDetail;
    if (!ok && body.error === 'invalid_grant' && detail === 'refresh token already used') stats.refreshTokenReuse++;
    if (ok && gt === 'refresh_token' && ctx.oidc.entities?.RotatedRefreshToken) stats.refreshRotations++;
    pushLog(stats.tokenRequestLog, {
      grant_type: gt,
      client_id: ctx.oidc.client?.clientId,
      client_auth: ctx.oidc.client?.clientAuthMethod,
      resource: ctx.oidc.params?.resource,
      scope: ctx.oidc.params?.scope,
      status: ctx.status,
      error: body.error,
      error_description: body.error_description,
      error_detail: detail,
      issued_refresh_token: ok ? !!body.refresh_token : undefined,
      granted_scope: ok ? body.scope : undefined,
      // The secret values of the exchange, for tests that check none of them appears
      // anywhere mcp-valet writes.
      secrets: [ctx.oidc.params?.code, ctx.oidc.params?.code_verifier, ctx.oidc.params?.refresh_token,
        ctx.oidc.params?.client_secret, body.access_token, body.refresh_token, body.id_token].filter(Boolean),
    });
  } else if (route === 'registration' && ctx.method === 'POST') {
    stats.registrations++;
    const b = typeof ctx.body === 'object' && ctx.body ? ctx.body : {};
    pushLog(stats.registrationLog, {
      status: ctx.status,
      error: b.error,
      error_description: b.error_description,
      client_id: b.client_id,
      application_type: b.application_type,
      redirect_uris: b.redirect_uris,
      grant_types: b.grant_types,
      token_endpoint_auth_method: b.token_endpoint_auth_method,
      client_name: b.client_name,
    });
  } else if (route === 'revocation') {
    stats.revocations++;
  } else if (route === 'userinfo') {
    stats.userinfo++;
  } else if (route === 'device_authorization' && ctx.status === 200) {
    stats.deviceAuthorizations++;
    const userCode = ctx.body?.user_code;
    if (state.autoApprove && userCode) setTimeout(() => autoApproveDevice(userCode), 300);
  }
});

async function autoApproveDevice(userCode) {
  try {
    const r = await drive(`${issuer}/device`, {
      user: state.autoUser,
      userCode,
      headers: { 'x-as-internal': INTERNAL },
      log: (l) => log('device auto-approve:', l),
    });
    if (r.status === 200 && /device-success/.test(r.html ?? '')) stats.deviceAutoApprovals++;
    else log('device auto-approve stopped at', r.status, r.title);
  } catch (e) {
    console.error('[as] device auto-approve failed:', e.message);
  }
}

// ---- interactions -----------------------------------------------------------------------------
async function readBody(req, limit = 1 << 20) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'text/html; charset=utf-8', extra = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(body);
}
const json = (res, status, obj) => send(res, status, `${JSON.stringify(obj, null, 1)}\n`, 'application/json');

async function handleInteraction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    return send(res, 400, page('Sign-in error', `<p id="error">This sign-in has expired or is not valid (${esc(e.message)}).</p>`));
  }
  if (details.uid !== uid) return send(res, 400, page('Sign-in error', '<p id="error">Interaction mismatch.</p>'));
  const client = await provider.Client.find(details.params.client_id);
  const prompt = details.prompt.name;

  if (req.method === 'GET' && !action) {
    return send(res, 200, prompt === 'login' ? loginPage(uid, details, client) : consentPage(uid, details, client));
  }
  if (req.method !== 'POST') return send(res, 405, page('Method not allowed', ''));
  const form = new URLSearchParams(await readBody(req));

  if (action === 'login') {
    if (prompt !== 'login') return send(res, 400, page('Sign-in error', '<p id="error">Not expecting a login.</p>'));
    const username = (form.get('username') ?? '').trim();
    if (!username) return send(res, 200, loginPage(uid, details, client).replace('<form', '<p id="error">Enter a user name.</p><form'));
    stats.logins[username] = (stats.logins[username] ?? 0) + 1;
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    if (prompt !== 'consent') return send(res, 400, page('Sign-in error', '<p id="error">Not expecting a consent.</p>'));
    const { prompt: { details: d }, params, session: { accountId }, grantId } = details;
    const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId, clientId: params.client_id });
    const withheld = new Set(state.withholdScopes);
    const split = (list) => [list.filter((s) => !withheld.has(s)), list.filter((s) => withheld.has(s))];
    if (d.missingOIDCScope) {
      const [yes, no] = split(d.missingOIDCScope);
      if (yes.length) grant.addOIDCScope(yes.join(' '));
      if (no.length) grant.rejectOIDCScope(no.join(' '));
    }
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
      const [yes, no] = split(scopes);
      if (yes.length) grant.addResourceScope(indicator, yes.join(' '));
      if (no.length) grant.rejectResourceScope(indicator, no.join(' '));
    }
    const id = await grant.save();
    stats.consents++;
    const consent = grantId ? {} : { grantId: id };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    stats.denials++;
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, page('Not found', ''));
}

// ---- auto-approve: GET /auth answers one 302 straight to the redirect URI ----------------------
async function autoAuthorize(req, res, url) {
  const user = url.searchParams.get('login_hint') || state.autoUser;
  const action = url.searchParams.get('auto_approve') === 'deny' ? 'deny' : 'approve';
  const r = await drive(url.href, {
    user,
    action,
    headers: { 'x-as-internal': INTERNAL },
    isDone: (u) => u.origin !== issuer,
    log: (l) => log('auto-approve:', l),
  });
  if (r.done) return send(res, 302, '', 'text/plain', { location: r.done.href });
  return send(res, r.status, r.html ?? '', 'text/html; charset=utf-8');
}

// ---- test endpoints -----------------------------------------------------------------------------
async function handleTest(req, res, url) {
  const p = url.pathname;
  if (p === '/test/stats' && req.method === 'GET') return json(res, 200, stats);
  if (p === '/test/reset' && req.method === 'POST') { stats = freshStats(); return json(res, 200, { ok: true }); }
  if (p === '/test/config' && req.method === 'GET') return json(res, 200, { ...state, resources: [...state.resources] });
  if (p === '/test/config' && req.method === 'POST') {
    const b = JSON.parse((await readBody(req)) || '{}');
    for (const k of ['accessTtl', 'refreshTtl', 'autoApprove', 'autoUser', 'resourceScopes', 'withholdScopes', 'strictResources', 'refreshRequiresOfflineAccess', 'rotateRefresh', 'defaultResource']) {
      if (k in b) state[k] = b[k];
    }
    if (Array.isArray(b.resources)) state.resources = new Set(b.resources);
    return json(res, 200, { ...state, resources: [...state.resources] });
  }
  if (p === '/test/clients' && req.method === 'POST') {
    const b = JSON.parse((await readBody(req)) || '{}');
    const id = b.client_id || `test-${randomUUID()}`;
    const metadata = { ...publicClientMetadata(id, b.redirect_uris ?? []), ...b, client_id: id };
    try {
      await provider.Client.validate(metadata);
    } catch (e) {
      return json(res, 400, { error: e.error ?? 'invalid_client_metadata', error_description: e.error_description ?? e.message });
    }
    await provider.Client.adapter.upsert(id, metadata);
    return json(res, 201, metadata);
  }
  return json(res, 404, { error: 'not_found' });
}

// ---- the HTTP front: test endpoints, interactions, auto mode, RFC 8414 alias, then oidc-provider --
const oidc = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const internal = req.headers['x-as-internal'] === INTERNAL;
    if (url.pathname.startsWith('/.well-known/')) {
      stats.metadataRequests[url.pathname] = (stats.metadataRequests[url.pathname] ?? 0) + 1;
      if (opt.rfc8414 && url.pathname === '/.well-known/oauth-authorization-server') req.url = '/.well-known/openid-configuration';
    }
    if (url.pathname.startsWith('/test/')) return await handleTest(req, res, url);
    if (url.pathname.startsWith('/interaction/')) return await handleInteraction(req, res, url);
    if (url.pathname === '/auth' && !internal) {
      stats.authorizationRequests++;
      const q = req.method === 'GET' ? url.searchParams : new URLSearchParams();
      pushLog(stats.authorizationRequestLog, {
        method: req.method,
        client_id: q.get('client_id'),
        response_type: q.get('response_type'),
        scope: q.get('scope'),
        resource: q.getAll('resource'),
        redirect_uri: q.get('redirect_uri'),
        code_challenge_method: q.get('code_challenge_method'),
        has_code_challenge: q.has('code_challenge'),
        has_state: q.has('state'),
        prompt: q.get('prompt'),
      });
      const auto = q.get('auto_approve');
      if (req.method === 'GET' && ((state.autoApprove && auto !== '0') || auto === '1' || auto === 'deny')) {
        return await autoAuthorize(req, res, url);
      }
    }
    return oidc(req, res);
  } catch (e) {
    console.error('[as] request failed:', e);
    if (!res.headersSent) send(res, 500, page('Server error', `<p id="error">${esc(e.message)}</p>`));
    else res.destroy();
  }
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
log('ready', issuer);

// ---- lifetime: exit on SIGTERM/SIGINT, and on stdin EOF when stdin is a pipe -----------------------
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
