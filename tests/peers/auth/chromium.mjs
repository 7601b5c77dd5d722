#!/usr/bin/env node
// A real browser for `BROWSER=…/chromium.mjs`: headless Debian Chromium (/usr/bin/chromium)
// driven by playwright-core (no browser download). Returns at once like a browser launcher and,
// in a detached background process:
//   opens the URL, types $FAKE_BROWSER_USER (default "ada") into #username and clicks #login,
//   clicks #consent (or #deny with FAKE_BROWSER_ACTION=deny), handles the device pages
//   (#user-code / #continue, #confirm), and waits until the page at the authorization request's
//   redirect_uri (the client's loopback listener) has loaded, e.g. mcp-valet's "Signed in" page.
//
// Environment:
//   FAKE_BROWSER_USER, FAKE_BROWSER_ACTION, FAKE_BROWSER_LOG, FAKE_BROWSER_FOREGROUND=1
//                           as for fakebrowser.mjs
//   CHROMIUM_SCREENSHOT     write a PNG of the last page (the redirect's page) here
//   CHROMIUM_SCREENSHOT_DIR write a PNG of every step here (01-login.png, 02-consent.png, …)
//   CHROMIUM_PATH           the browser (default /usr/bin/chromium)
//   CHROMIUM_TIMEOUT_MS     give up after this long (default 60000)
//   CHROMIUM_EXPECT         text the final page must contain to count as success
//                           (default "Signed in"; the device flow ends on "Device signed in")
// Exit status of the background process (visible with FAKE_BROWSER_FOREGROUND=1): 0 when the
// final page contains CHROMIUM_EXPECT, 1 otherwise.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { redact } from './lib/browse.mjs';

const args = process.argv.slice(2);
const child = args[0] === '--child';
const target = child ? args[1] : args[0];
if (!target) {
  process.stderr.write('usage: chromium.mjs URL\n');
  process.exit(2);
}
if (!child && process.env.FAKE_BROWSER_FOREGROUND !== '1') {
  spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', target], { detached: true, stdio: 'ignore', env: process.env }).unref();
  process.exit(0);
}

const logFile = process.env.FAKE_BROWSER_LOG;
const t0 = Date.now();
const log = (line) => {
  if (!logFile) return;
  try { fs.appendFileSync(logFile, `[chromium ${process.pid} +${Date.now() - t0}ms] ${line}\n`); } catch { /* ignore */ }
};

// The flags that work here as root (see the machine notes): no sandbox, no GPU, no QUIC, and no
// background networking, since this machine has no network beyond loopback.
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
  '--no-default-browser-check', '--disable-features=Translate,OptimizationHints,MediaRouter',
];

async function main() {
  const start = new URL(target);
  if (start.protocol !== 'http:' && start.protocol !== 'https:') throw new Error(`refusing a ${start.protocol} URL`);
  const redirectUri = start.searchParams.get('redirect_uri');
  const redirect = redirectUri ? URL.parse(redirectUri) : null;
  const atRedirect = (href) => {
    const u = URL.parse(href);
    return !!(u && redirect && u.origin === redirect.origin && u.pathname === redirect.pathname);
  };
  const user = process.env.FAKE_BROWSER_USER || 'ada';
  const deny = process.env.FAKE_BROWSER_ACTION === 'deny';
  const expect = process.env.CHROMIUM_EXPECT ?? (redirect ? 'Signed in' : 'Device signed in');
  const shotDir = process.env.CHROMIUM_SCREENSHOT_DIR;
  const deadline = Date.now() + Number(process.env.CHROMIUM_TIMEOUT_MS ?? 60000);
  let step = 0;
  const shot = async (page, name) => {
    if (!shotDir) return;
    fs.mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true }).catch(() => {});
  };

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  // Chromium's HOME and XDG directories inside the profile too, so that its crash reports
  // (~/.config/chromium) and dconf's cache (~/.cache/dconf) go with the profile, not into the
  // user's home.
  const home = path.join(profile, 'home');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_DATA_HOME: path.join(home, '.local/share'),
    },
    viewport: { width: 800, height: 600 },
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(10000);
    // remember the redirect's full URL, to retry it if the listener was not up yet
    let redirectHref = null;
    page.on('request', (r) => { if (r.isNavigationRequest() && atRedirect(r.url())) redirectHref = r.url(); });
    log(`open ${redact(start)}`);
    await page.goto(start.href, { waitUntil: 'load' });

    while (Date.now() < deadline) {
      const href = page.url();
      if (redirectHref && (atRedirect(href) || href.startsWith('chrome-error:'))) {
        if (href.startsWith('chrome-error:')) {
          log(`the redirect failed to load; retrying ${redact(redirectHref)}`);
          await new Promise((r) => setTimeout(r, 250));
          await page.goto(redirectHref, { waitUntil: 'load' }).catch(() => {});
          continue;
        }
        break;
      }
      const has = async (sel) => (await page.locator(sel).count()) > 0;
      const act = async (name, fn) => {
        await shot(page, name);
        log(`${redact(href)}: ${name}`);
        const before = page.url();
        await fn();
        await page.waitForURL((u) => u.href !== before, { waitUntil: 'load', timeout: 10000 }).catch(() => {});
      };
      if (await has('#username')) {
        await act('login', async () => { await page.fill('#username', user); await page.click('#login'); });
      } else if (deny && await has('#deny')) {
        await act('deny', () => page.click('#deny'));
      } else if (await has('#consent')) {
        await act('consent', () => page.click('#consent'));
      } else if (await has('#user-code')) {
        await act('device-code', () => page.click('#continue'));
      } else if (await has('#confirm')) {
        await act('device-confirm', () => page.click('#confirm'));
      } else if (await has('#device-success') || await has('#error') || !redirect) {
        break;
      } else {
        await page.waitForTimeout(200);
      }
    }
    await page.waitForLoadState('load').catch(() => {});
    const title = await page.title().catch(() => '');
    const text = await page.locator('body').innerText().catch(() => '');
    log(`final page ${redact(page.url())}: "${title}"`);
    await shot(page, 'final');
    if (process.env.CHROMIUM_SCREENSHOT) {
      await page.screenshot({ path: process.env.CHROMIUM_SCREENSHOT, fullPage: true }).catch((e) => log(`screenshot failed: ${e.message}`));
    }
    return `${title}\n${text}`.includes(expect) ? 0 : 1;
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  (code) => { log(`done (${code})`); process.exit(code); },
  (e) => { log(`failed: ${e?.message}`); process.exit(1); },
);
