#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what the tests need when it is
# missing, then runs them. A missing dependency is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Two cores: keep the build and the test threads modest.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

echo "== formatting and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "== installing what the tests need (chromium, openssh-server, tests/interop npm packages and venv)"
tests/interop/setup.sh

echo "== cargo test"
cargo test --locked -- --test-threads=4

echo "== interoperability with real MCP clients (tests/interop)"
tests/interop/run.sh
