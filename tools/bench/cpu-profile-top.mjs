// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions and the files with the most self
// time, so a benchmark's profile can be read without DevTools.
//
//   node tools/bench/cpu-profile-top.mjs <file.cpuprofile> [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
if (positionals.length !== 1) {
  process.stderr.write('usage: node tools/bench/cpu-profile-top.mjs <file.cpuprofile> [--top 30]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0;
  selfMicros.set(profile.samples[i], (selfMicros.get(profile.samples[i]) ?? 0) + delta);
}
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
const shortUrl = (url) => url.replace(/^file:\/\/.*?\/(node_modules|libs|tools|apps)\//, '$1/') || '(native)';
const functions = new Map();
const files = new Map();
let idle = 0;
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id);
  if (callFrame.functionName === '(idle)') idle += micros;
  const where = shortUrl(callFrame.url);
  const key = `${callFrame.functionName || '(anonymous)'}  ${where}:${callFrame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + micros);
  files.set(where, (files.get(where) ?? 0) + micros);
}
const busy = total - idle;
// total (inclusive) time: each sample counts once for every distinct function on its stack
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const keyOf = (callFrame) => `${callFrame.functionName || '(anonymous)'}  ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
const inclusive = new Map();
for (const [id, micros] of selfMicros) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) seen.add(keyOf(byId.get(at).callFrame));
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + micros);
}
for (const key of [...inclusive.keys()]) if (key.startsWith('(root)') || key.startsWith('(idle)')) inclusive.delete(key);
const print = (title, map) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)} %  ${key}\n`);
  }
};
process.stdout.write(`profile: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages are of busy time)\n`);
print('self time by function', functions);
print('self time by file', files);
print('total time (self + callees) by function', inclusive);
