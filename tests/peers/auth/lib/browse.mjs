// A scripted "user with a browser": follows redirects with a cookie jar and fills in the
// authorization server's pages (login, consent, device user code, device confirmation) over
// plain HTTP. No JavaScript is run. Used by fakebrowser.mjs and by as.mjs's auto-approve mode.
//
// The pages it understands are the ones as.mjs renders (stable element ids):
//   login          form with <input id="username"> and <button id="login">
//   consent        form with <button id="consent"> (or #deny when action is "deny")
//   device code    form with <input id="user-code"> and <button id="continue">
//   device confirm form with <button id="confirm">
// Anything else with a single POST form is submitted as it is.
//
// Nothing secret is ever logged: URLs are logged as origin + path + the names of their query
// parameters (values only for `error`, `error_description` and `iss`).

const SAFE_PARAMS = new Set(['error', 'error_description', 'iss']);

/** A URL with its query values removed, except for the harmless ones. */
export function redact(u) {
  let url;
  try {
    url = new URL(String(u));
  } catch {
    return '<unparseable url>';
  }
  const names = [...url.searchParams.keys()];
  const q = names
    .map((k) => (SAFE_PARAMS.has(k) ? `${k}=${url.searchParams.get(k)}` : `${k}=…`))
    .join('&');
  return `${url.origin}${url.pathname}${q ? `?${q}` : ''}`;
}

/** Minimal RFC 6265 cookie jar: name + path keyed, host-only, honours Max-Age=0 / past Expires. */
export class CookieJar {
  #cookies = new Map(); // key: host|path|name → { name, value, host, path }

  store(requestUrl, setCookieHeaders) {
    const url = new URL(requestUrl);
    for (const header of setCookieHeaders ?? []) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = null;
      let expired = false;
      for (const a of attrs) {
        const [k, ...v] = a.split('=');
        const key = k.trim().toLowerCase();
        const val = v.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        if (key === 'max-age' && Number(val) <= 0) expired = true;
        if (key === 'expires' && Date.parse(val) < Date.now()) expired = true;
      }
      if (path === null) {
        const p = url.pathname;
        path = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
      }
      const key = `${url.host}|${path}|${name}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, host: url.host, path });
    }
  }

  header(requestUrl) {
    const url = new URL(requestUrl);
    const out = [];
    for (const c of this.#cookies.values()) {
      if (c.host !== url.host) continue;
      const p = url.pathname;
      if (p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) {
        out.push(`${c.name}=${c.value}`);
      }
    }
    return out.join('; ');
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' };
function decodeEntities(s) {
  return s.replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, (m, e) => {
    if (ENTITIES[e] !== undefined) return ENTITIES[e];
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(n) ? String.fromCodePoint(n) : m;
    }
    return m;
  });
}

function parseAttrs(s) {
  const attrs = {};
  for (const m of s.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** The forms of an HTML page: { attrs, inputs: [attrs], buttons: [attrs] }. */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const inner = m[2];
    forms.push({
      attrs: parseAttrs(m[1]),
      inputs: [...inner.matchAll(/<input\b([^>]*)>/gi)].map((x) => parseAttrs(x[1])),
      buttons: [...inner.matchAll(/<button\b([^>]*)>/gi)].map((x) => parseAttrs(x[1])),
    });
  }
  return forms;
}

export function pageTitle(html) {
  const m = /<title>([\s\S]*?)<\/title>/i.exec(html ?? '');
  return m ? decodeEntities(m[1]).trim() : '';
}

const hasInput = (f, id) => f.inputs.some((i) => i.id === id);
const button = (f, id) => f.buttons.find((b) => b.id === id) ?? f.inputs.find((i) => i.id === id && i.type === 'submit');

/**
 * Chooses what a user would do on this page. Returns { kind, form, clicked, fill } or null.
 * action: "approve" (default) or "deny" (click #deny on the consent page).
 */
export function chooseForm(forms, { action = 'approve' } = {}) {
  let f = forms.find((x) => hasInput(x, 'username'));
  if (f) return { kind: 'login', form: f, clicked: button(f, 'login'), fill: 'username' };
  if (action === 'deny') {
    f = forms.find((x) => button(x, 'deny'));
    if (f) return { kind: 'consent-deny', form: f, clicked: button(f, 'deny') };
  }
  f = forms.find((x) => button(x, 'consent'));
  if (f) return { kind: 'consent', form: f, clicked: button(f, 'consent') };
  f = forms.find((x) => hasInput(x, 'user-code'));
  if (f) return { kind: 'device-code', form: f, clicked: button(f, 'continue'), fill: 'user-code' };
  f = forms.find((x) => button(x, 'confirm'));
  if (f) return { kind: 'device-confirm', form: f, clicked: button(f, 'confirm') };
  const posts = forms.filter((x) => (x.attrs.method ?? 'get').toLowerCase() === 'post');
  if (posts.length === 1) return { kind: 'form', form: posts[0], clicked: posts[0].buttons[0] };
  return null;
}

function formBody(choice, { user, userCode }) {
  const params = new URLSearchParams();
  for (const i of choice.form.inputs) {
    if (!i.name) continue;
    const type = (i.type ?? 'text').toLowerCase();
    if (type === 'submit' || type === 'button' || type === 'image' || type === 'reset') continue;
    if ((type === 'checkbox' || type === 'radio') && !('checked' in i)) continue;
    let value = i.value ?? (type === 'checkbox' ? 'on' : '');
    if (choice.fill === 'username' && i.id === 'username') value = user;
    if (choice.fill === 'user-code' && i.id === 'user-code' && userCode) value = userCode;
    params.append(i.name, value);
  }
  if (choice.clicked?.name) params.append(choice.clicked.name, choice.clicked.value ?? '');
  return params;
}

/**
 * Drives the pages from `startUrl` on.
 *   isDone(url) → true for a redirect the caller wants to handle itself (the client's
 *                 redirect URI); that URL is returned as { done } without being requested.
 * Returns { done: URL } or { status, url, title, html } for the page where it stopped.
 */
export async function drive(startUrl, opts = {}) {
  const {
    user = 'ada',
    userCode,
    action = 'approve',
    isDone = () => false,
    log = () => {},
    maxSteps = 30,
    timeoutMs = 10000,
    headers = {},
    jar = new CookieJar(),
  } = opts;
  let url = new URL(startUrl);
  let method = 'GET';
  let body;
  for (let step = 0; step < maxSteps; step++) {
    const h = { ...headers, accept: 'text/html,application/xhtml+xml' };
    const cookie = jar.header(url);
    if (cookie) h.cookie = cookie;
    if (body) h['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, body, headers: h, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    jar.store(url, res.headers.getSetCookie?.() ?? []);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer().catch(() => {});
      const next = new URL(location, url);
      log(`${method} ${redact(url)} → ${res.status} ${redact(next)}`);
      if (isDone(next)) return { done: next };
      url = next;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    const title = pageTitle(html);
    const choice = /html/i.test(res.headers.get('content-type') ?? '') ? chooseForm(parseForms(html), { action }) : null;
    log(`${method} ${redact(url)} → ${res.status} "${title}"${choice ? ` (${choice.kind} form)` : ''}`);
    if (!choice) return { status: res.status, url, title, html };
    const formMethod = (choice.form.attrs.method ?? 'get').toUpperCase();
    const target = new URL(choice.form.attrs.action || url.href, url);
    const params = formBody(choice, { user, userCode });
    if (formMethod === 'POST') {
      url = target;
      method = 'POST';
      body = params.toString();
    } else {
      for (const [k, v] of params) target.searchParams.set(k, v);
      url = target;
      method = 'GET';
      body = undefined;
    }
  }
  throw new Error(`gave up after ${maxSteps} steps`);
}

/** GETs `url` until something listens there (the client's loopback redirect listener). */
export async function deliver(url, { attempts = 40, delayMs = 250, timeoutMs = 10000, log = () => {} } = {}) {
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      const html = await res.text();
      log(`GET ${redact(url)} → ${res.status} "${pageTitle(html)}" (attempt ${i + 1})`);
      return { status: res.status, title: pageTitle(html), html };
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  log(`GET ${redact(url)} failed ${attempts} times: ${last?.cause?.code ?? last?.message}`);
  return { error: last };
}
