// Rewrites tsconfig.base.json's `paths` from the projects on disk: one `@kedge/<name>` per libs/<scope>/<name>
// (from its package.json), sorted. Run after adding, moving or merging libs: `node tools/workspace/sync-paths.mjs`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const paths = {};
for (const scope of readdirSync(join(root, 'libs')).sort()) {
  for (const name of readdirSync(join(root, 'libs', scope)).sort()) {
    const manifest = join(root, 'libs', scope, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name: packageName } = JSON.parse(readFileSync(manifest, 'utf8'));
    paths[packageName] = [`libs/${scope}/${name}/src/index.ts`];
  }
}
const file = join(root, 'tsconfig.base.json');
const text = readFileSync(file, 'utf8');
// a merge may leave conflict markers inside `paths`: drop the whole block and write it anew
const start = text.indexOf('"paths"');
const end = text.indexOf('}', text.indexOf('{', start));
const indent = '    ';
const block = `"paths": {\n${Object.entries(paths).map(([k, v]) => `${indent}  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}\n${indent}}`;
writeFileSync(file, text.slice(0, start) + block + text.slice(end + 1));
JSON.parse(readFileSync(file, 'utf8'));
console.log(`tsconfig.base.json: ${Object.keys(paths).length} paths`);
