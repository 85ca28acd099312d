// The official MCP Python SDK client (PyPI `mcp`, pinned in requirements.txt, installed in
// tests/interop/.venv by run.sh): python/sdk_client.py runs its OAuthClientProvider against the
// real server; every check it prints becomes a test here, and a check that never ran fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ALICE, INTEROP_DIR, startServer } from './lib/server.mjs';

const PYTHON = path.join(INTEROP_DIR, '.venv/bin/python');
const EXPECTED = [
  'anonymous tools/list',
  'anonymous protected call carries the mcp/www_authenticate challenge',
  'OAuthClientProvider registered one client dynamically',
  'the user saw the login and consent pages',
  'authorization request: PKCE S256 and resource',
  'authorization response carried iss',
  'tokens from the code exchange',
  'protected tools: private_files_write then private_files_read',
  'protected tool: private_chat_write returns ids',
];

function mcpVersion() {
  const dist = fs.readdirSync(path.join(INTEROP_DIR, '.venv/lib')).flatMap((py) =>
    fs.readdirSync(path.join(INTEROP_DIR, '.venv/lib', py, 'site-packages')).filter((d) => /^mcp-[\d.]+\.dist-info$/.test(d)),
  );
  return dist[0]?.replace(/^mcp-|\.dist-info$/g, '') ?? 'missing';
}

describe(`MCP Python SDK ${fs.existsSync(PYTHON) ? mcpVersion() : '(venv missing)'}: OAuthClientProvider`, () => {
  let server;
  const results = new Map();
  let run;

  before(async () => {
    assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing: run tests/interop/run.sh (it creates the venv)`);
    server = await startServer({ name: 'python-sdk' });
    run = await new Promise((resolve, reject) => {
      const child = spawn(PYTHON, [path.join(INTEROP_DIR, 'python/sdk_client.py'), server.mcpUrl, ALICE.username], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin.end(`${ALICE.password}\n`);
    });
    for (const line of run.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const result = JSON.parse(line);
      results.set(result.check, result);
    }
  });
  after(async () => {
    await server?.stop();
  });

  for (const name of EXPECTED) {
    it(name, () => {
      const result = results.get(name);
      assert.ok(result, `check did not run; exit ${run?.code}; stderr: ${run?.stderr.slice(-2000)}`);
      assert.ok(result.ok, result.detail);
    });
  }

  it('no other check failed, and the client exited 0', () => {
    const failed = [...results.values()].filter((r) => !r.ok && !EXPECTED.includes(r.check));
    assert.deepEqual(failed, []);
    assert.equal(run.code, 0, `exit ${run.code} ${run.signal ?? ''}; stderr: ${run.stderr.slice(-2000)}`);
  });
});
