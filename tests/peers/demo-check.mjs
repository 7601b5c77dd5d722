#!/usr/bin/env node
// The demo's check (tests/peers/demo.sh): shows what mcp-valet wrote on stdout, one line per
// message with its id in front, and checks it against what the client sent.
//
//   node demo-check.mjs REQUESTS STDOUT
//
// REQUESTS holds the lines sent to mcp-valet's stdin, STDOUT what it wrote on stdout. The check
// passes when every stdout line is a JSON-RPC 2.0 message, every request (a line with an id)
// got exactly one answer with its id, every line that is not JSON got exactly one parse error
// (-32700, id null), and nothing answered a notification or an id that was never sent.
// Exit status 0 when it passes, 1 when it does not (each problem on a line of its own).
import fs from 'node:fs';

const [reqFile, outFile] = process.argv.slice(2);
if (!reqFile || !outFile) {
  process.stderr.write('usage: demo-check.mjs REQUESTS STDOUT\n');
  process.exit(2);
}
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '');
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

// What the client sent: ids of requests, and how many lines were not JSON.
const sent = new Map(); // JSON text of the id -> method
let unparsable = 0;
let notifications = 0;
for (const l of lines(reqFile)) {
  let m;
  try { m = JSON.parse(l); } catch { unparsable += 1; continue; }
  if (m && typeof m === 'object' && 'id' in m && m.id !== null) sent.set(JSON.stringify(m.id), m.method);
  else notifications += 1;
}

// What came back.
const problems = [];
const answers = new Map(); // JSON text of the id -> count
let parseErrors = 0;
let fromServer = 0;
const short = (l, max = 150) => (l.length <= max ? l : `${l.slice(0, max - 40)} … ${l.slice(-30)}  (${l.length} bytes)`);
for (const l of lines(outFile)) {
  let m;
  try { m = JSON.parse(l); } catch {
    problems.push(`stdout carries a line that is not JSON: ${short(l, 80)}`);
    continue;
  }
  if (!m || m.jsonrpc !== '2.0') {
    problems.push(`stdout carries something that is not JSON-RPC 2.0: ${short(l, 80)}`);
    continue;
  }
  if ('method' in m) {
    fromServer += 1;
    console.log(paint(33, `← ${'id' in m ? `[server request ${JSON.stringify(m.id)}]` : '[notification]'} ${short(l)}`));
    continue;
  }
  const id = JSON.stringify(m.id ?? null);
  const kind = 'error' in m ? `error ${m.error?.code}` : 'result';
  console.log(paint(32, `← [id ${id}, ${kind}] ${short(l)}`));
  if (id === 'null') {
    parseErrors += 1;
    if (m.error?.code !== -32700) problems.push(`an answer with id null that is not a parse error: ${short(l, 80)}`);
    continue;
  }
  answers.set(id, (answers.get(id) ?? 0) + 1);
  if (!sent.has(id)) problems.push(`an answer to id ${id}, which the client never sent`);
}
for (const [id, method] of sent) {
  const n = answers.get(id) ?? 0;
  if (n !== 1) problems.push(`request ${id} (${method}) got ${n} answers, not exactly one`);
}
if (parseErrors !== unparsable) {
  problems.push(`${unparsable} line(s) that are not JSON got ${parseErrors} parse error(s), not one each`);
}

if (problems.length) {
  for (const p of problems) console.log(paint(31, `Check FAILED: ${p}`));
  process.exit(1);
}
const ids = [...sent.keys()].join(', ');
console.log(paint(1, `Check passed: ${sent.size} request(s) (ids ${ids || 'none'}) got exactly one answer each, `
  + `${unparsable} line(s) that are not JSON one parse error each, and ${notifications} notification(s) no answer; `
  + `stdout held only JSON-RPC (${fromServer} message(s) from the server besides the answers).`));
