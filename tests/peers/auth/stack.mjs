#!/usr/bin/env node
// Starts as.mjs and then mcp.mjs pointed at it; prints one JSON line
//   {"issuer":"http://127.0.0.1:A","mcp":"http://127.0.0.1:B/mcp","prm":"…","as_stats":"…","mcp_stats":"…"}
// and keeps both running until stdin closes (when it is a pipe) or SIGTERM/SIGINT.
//   node stack.mjs [as.mjs options…] [-- mcp.mjs options…]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const asArgs = sep === -1 ? argv : argv.slice(0, sep);
const mcpArgs = sep === -1 ? [] : argv.slice(sep + 1);
const children = [];

function start(script, args) {
  const p = spawn(process.execPath, [path.join(here, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(p);
  p.on('exit', (code, sig) => { if (!stopping) { console.error(`[stack] ${script} exited (${code ?? sig})`); stop(1); } });
  return new Promise((resolve) => readline.createInterface({ input: p.stdout }).once('line', (l) => resolve(JSON.parse(l))));
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  process.exit(code);
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));

const as = await start('as.mjs', asArgs);
const mcp = await start('mcp.mjs', ['--issuer', as.issuer, ...mcpArgs]);
const origin = new URL(mcp.mcp).origin;
process.stdout.write(`${JSON.stringify({ issuer: as.issuer, mcp: mcp.mcp, prm: mcp.prm, as_stats: `${as.issuer}/test/stats`, mcp_stats: `${origin}/test/stats` })}\n`);

try {
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    process.stdin.on('end', () => stop(0));
    process.stdin.resume();
  }
} catch { /* no stdin */ }
