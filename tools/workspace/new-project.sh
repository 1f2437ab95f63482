#!/usr/bin/env bash
# Creates the files every kedge project has: package.json (npm workspace), project.json (nx tags),
# tsconfig.json, vitest.config.ts and an entry file. Usage: new-project.sh <apps|libs>/<name> <scope>
set -euo pipefail
dir="$1"; scope="$2"
kind=${dir%%/*}; name=${dir##*/}
type=$([ "$kind" = apps ] && echo app || echo lib)
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/$dir/src"
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
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "projectType": "$([ "$type" = app ] && echo application || echo library)",
  "sourceRoot": "$dir/src",
  "tags": ["scope:$scope", "type:$type"],
  "targets": { "lint": {}, "typecheck": {}, "test": {} }
}
JSON
[ -f tsconfig.json ] || cat > tsconfig.json <<JSON
{
  "extends": "../../tsconfig.base.json",
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
echo "created $dir (scope:$scope, type:$type)"
