#!/usr/bin/env bash
# Usage: tools/new-lib.sh NAME "description" -- creates libs/NAME with project.json, jest config, tsconfig.
set -euo pipefail
name=$1; desc=${2:-}
d=libs/$name
mkdir -p $d/src
[ -f $d/project.json ] || cat > $d/project.json <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "libs/$name/src",
  "projectType": "library",
  "tags": [],
  "targets": {
    "build": { "executor": "nx:run-commands", "options": { "command": "tsc -p libs/$name/tsconfig.lib.json" } },
    "test": { "executor": "nx:run-commands", "options": { "command": "jest -c libs/$name/jest.config.js" } },
    "lint": { "executor": "nx:run-commands", "options": { "command": "eslint libs/$name/src" } }
  }
}
JSON
[ -f $d/jest.config.js ] || cat > $d/jest.config.js <<JS
module.exports = { ...require('../../jest.preset.js'), displayName: '$name', rootDir: __dirname };
JS
[ -f $d/tsconfig.lib.json ] || cat > $d/tsconfig.lib.json <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "outDir": "../../dist/libs/$name", "noEmit": false, "rootDir": "../.." },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.spec.ts"]
}
JSON
[ -f $d/src/index.ts ] || echo "// Public API of @noetl/$name. $desc" > $d/src/index.ts
echo "created $d"
