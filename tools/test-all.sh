#!/usr/bin/env bash
# The whole test suite (README's second command). Idempotent on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/scripts/ensure-services.sh
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
npx tsc -p tsconfig.json --noEmit
npx eslint libs apps tools --max-warnings=0
npx madge --circular --extensions ts --ts-config tsconfig.base.json libs apps
mkdir -p tmp
# one jest run over every project (same suites as `npx nx run-many -t test`), then the closing line
set +e
npx jest -c jest.config.js --maxWorkers=2 --json --outputFile=tmp/jest-results.json
set -e
node tools/jest-summary.js tmp/jest-results.json
