#!/usr/bin/env node
// A scripted browser for `BROWSER=…/fakebrowser.mjs`: returns at once (like a browser launcher)
// and, in a detached background process, plays the user:
//   1. GET the URL it was given (an authorization URL, or a device verification URL),
//      following redirects with a cookie jar;
//   2. fills in the login form (#username ← $FAKE_BROWSER_USER, default "ada"; clicks #login),
//      the consent form (#consent, or #deny with FAKE_BROWSER_ACTION=deny), and the device
//      pages (#user-code, #confirm) of tests/peers/auth/as.mjs;
//   3. when a redirect goes to the authorization request's redirect_uri (the client's loopback
//      listener), GETs it, retrying a few times until something listens there.
// With an authorization server that redirects straight away (the conformance fixtures, or
// as.mjs --auto-approve) step 2 is simply skipped.
//
// Environment:
//   FAKE_BROWSER_USER      user name to sign in as (default ada)
//   FAKE_BROWSER_ACTION    approve (default) | deny (click Deny on the consent page)
//   FAKE_BROWSER_LOG       append a log of what it did to this file (never codes or tokens)
//   FAKE_BROWSER_DELAY_MS  wait this long before starting (default 0)
//   FAKE_BROWSER_FOREGROUND=1  do the work in this process instead of a detached child
// Only Node's built-ins are used, so it runs under any Node >= 20 without npm install.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

import { deliver, drive, redact } from './lib/browse.mjs';

const args = process.argv.slice(2);
const child = args[0] === '--child';
const target = child ? args[1] : args[0];

if (!target) {
  process.stderr.write('usage: fakebrowser.mjs URL\n');
  process.exit(2);
}

if (!child && process.env.FAKE_BROWSER_FOREGROUND !== '1') {
  const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', target], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  p.unref();
  process.exit(0);
}

const logFile = process.env.FAKE_BROWSER_LOG;
const t0 = Date.now();
function log(line) {
  if (!logFile) return;
  try {
    fs.appendFileSync(logFile, `[fakebrowser ${process.pid} +${Date.now() - t0}ms] ${line}\n`);
  } catch { /* never fail because of the log */ }
}

async function main() {
  let start;
  try {
    start = new URL(target);
  } catch {
    log(`not a URL: ${JSON.stringify(target.slice(0, 200))}`);
    return 2;
  }
  if (start.protocol !== 'http:' && start.protocol !== 'https:') {
    log(`refusing a ${start.protocol} URL`);
    return 2;
  }
  const delay = Number(process.env.FAKE_BROWSER_DELAY_MS ?? 0);
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));

  const redirectUri = start.searchParams.get('redirect_uri');
  let redirect = null;
  try {
    redirect = redirectUri ? new URL(redirectUri) : null;
  } catch { /* not a URL: never matches */ }
  log(`open ${redact(start)}${redirect ? ` (redirect_uri ${redirect.origin}${redirect.pathname})` : ''}`);

  // A redirect "arrives at the client" when it goes to the registered redirect URI; loopback
  // ports may differ from the registered one only if the AS says so, so compare exactly.
  const isDone = (u) => !!redirect && u.origin === redirect.origin && u.pathname === redirect.pathname;

  const result = await drive(start, {
    user: process.env.FAKE_BROWSER_USER || 'ada',
    action: process.env.FAKE_BROWSER_ACTION === 'deny' ? 'deny' : 'approve',
    isDone,
    log,
  });
  if (result.done) {
    const r = await deliver(result.done, { log });
    return r.error ? 1 : 0;
  }
  log(`stopped at ${redact(result.url)}: ${result.status} "${result.title}"`);
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

main().then(
  (code) => { log(`done (${code})`); process.exit(code); },
  (e) => { log(`failed: ${e?.cause?.code ?? e?.message}`); process.exit(1); },
);
