#!/usr/bin/env bash
# Creates the files every kedge project has: package.json (npm workspace), project.json (nx tags),
# tsconfig.json, vitest.config.ts, README.md and an entry file, and adds the import path to tsconfig.base.json.
# Usage: new-project.sh apps/<name>            an app (scope from the name: cloudcore→cloud, edgecore→edge, else admin)
#        new-project.sh libs/<scope>/<name>    a lib; scope is shared, cloud, edge or testing (testing = type:test)
# Then run `npm install` so node_modules/@kedge/<name> links to it.
set -euo pipefail
dir="${1:?usage: new-project.sh apps/<name> | libs/<shared|cloud|edge|testing>/<name>}"
name=${dir##*/}
case "$dir" in
  apps/*/*) echo "apps are apps/<name>" >&2; exit 2 ;;
  apps/*) type=app; case "$name" in cloudcore) scope=cloud ;; edgecore) scope=edge ;; *) scope=admin ;; esac; up=../.. ;;
  libs/shared/*|libs/cloud/*|libs/edge/*) scope=$(echo "$dir" | cut -d/ -f2); type=lib; up=../../.. ;;
  libs/testing/*) scope=testing; type=test; up=../../.. ;;
  *) echo "libs go under libs/shared, libs/cloud, libs/edge or libs/testing" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/$dir/src" "$root/$dir/test"
cd "$root/$dir"
[ -f package.json ] || cat > package.json <<JSON
{
  "name": "@kedge/$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": { ".": "./src/index.ts" }
}
JSON
[ -f project.json ] || cat > project.json <<JSON
{
  "name": "$name",
  "\$schema": "$up/node_modules/nx/schemas/project-schema.json",
  "projectType": "$([ "$type" = app ] && echo application || echo library)",
  "sourceRoot": "$dir/src",
  "tags": ["scope:$scope", "type:$type"],
  "targets": { "lint": {}, "typecheck": {}, "test": {} }
}
JSON
[ -f tsconfig.json ] || cat > tsconfig.json <<JSON
{
  "extends": "$up/tsconfig.base.json",
  "include": ["src/**/*.ts", "test/**/*.ts", "vitest.config.ts"]
}
JSON
[ -f vitest.config.ts ] || cat > vitest.config.ts <<'TS'
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
TS
[ -f README.md ] || printf '# @kedge/%s\n\nWhat it is for, who uses it, and its entry points (src/index.ts).\n' "$name" > README.md
[ -f src/index.ts ] || printf '// @kedge/%s: \n' "$name" > src/index.ts
if [ "$type" != app ]; then
  node -e "
    const fs = require('fs'); const file = '$root/tsconfig.base.json';
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    config.compilerOptions.paths['@kedge/$name'] = ['$dir/src/index.ts'];
    fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');"
fi
echo "created $dir (scope:$scope, type:$type); run npm install to link @kedge/$name"
