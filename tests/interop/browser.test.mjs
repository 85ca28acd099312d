// A real browser: Debian's Chromium (/usr/bin/chromium, never a downloaded build) driven by
// playwright-core. A person types into the login form and clicks Approve; the browser must end on
// the client's loopback redirect URI with code, state and iss. Chromium enforces the pages'
// Content-Security-Policy `form-action` on the redirect that follows a form POST, so arriving
// there proves the CSP lets it through. Screenshots of the login, consent and error pages are
// kept in tests/interop/artifacts/browser/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

import { ALICE, ARTIFACTS_DIR, freePort, packageVersion, startServer } from './lib/server.mjs';
import { authorizationUrl, exchangeCode, pkcePair, registerPublicClient } from './lib/oauth.mjs';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ARTIFACTS_DIR, 'browser');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe(`Chromium via playwright-core ${packageVersion('playwright-core')}: login and consent in a real browser`, () => {
  let server;
  let context;
  let page;
  let userDataDir;
  let callbackServer;
  const callbackHits = [];
  const consoleErrors = [];
  let redirectUri;
  let client;

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (run.sh does)`);
    fs.mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ name: 'browser' });
    // The client's loopback redirect target, as a native app would listen on.
    const port = await freePort();
    redirectUri = `http://127.0.0.1:${port}/callback`;
    callbackServer = http.createServer((req, res) => {
      if (req.url.startsWith('/callback')) callbackHits.push(req.url); // not /favicon.ico
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Signed in</title><p>You can close this window.</p>');
    });
    await new Promise((resolve) => callbackServer.listen(port, '127.0.0.1', resolve));
    client = await registerPublicClient(server.issuer, { redirectUri, name: 'Interop Browser App' });

    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnichat-chromium-'));
    // A persistent context is the fresh --user-data-dir the machine notes ask for.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 900, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await new Promise((resolve) => (callbackServer ? callbackServer.close(resolve) : resolve()));
    await server?.stop();
  });

  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(16).toString('base64url');
  let finalUrl;

  it('shows the login page; the user types name and password and signs in', async () => {
    const response = await page.goto(
      authorizationUrl(server.issuer, { clientId: client.client_id, redirectUri, challenge, state, scope: 'files:read chat:read', resource: server.mcpUrl }),
    );
    assert.equal(response.status(), 200);
    const csp = response.headers()['content-security-policy'] ?? '';
    assert.match(csp, /form-action [^;]*'self'/, `login CSP: ${csp}`);
    assert.ok(await page.locator('input[name=username]').isVisible(), 'user name field');
    assert.ok(await page.locator('input[name=password]').isVisible(), 'password field');
    assert.ok((await page.content()).includes('Interop Browser App'), 'login page names the application');
    await page.screenshot({ path: path.join(SHOTS, 'login.png'), fullPage: true });

    await page.locator('input[name=username]').pressSequentially(ALICE.username);
    await page.locator('input[name=password]').pressSequentially(ALICE.password);
    const [login] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/login' && r.request().method() === 'POST'),
      page.locator('button[type=submit]').click(),
    ]);
    await page.waitForLoadState();
    const sent = await login.request().allHeaders();
    assert.equal(
      login.status(),
      303,
      `POST /login answered ${login.status()} (browser sent Origin: ${sent.origin}, Sec-Fetch-Site: ${sent['sec-fetch-site']}): ` +
        (await page.locator('body').innerText()).replace(/\s+/g, ' '),
    );
    await page.waitForURL((url) => url.pathname === '/authorize');
  });

  it('shows the consent page with the application and its scopes; the user clicks Approve', async () => {
    const approve = page.locator('button[name=decision][value=approve]');
    await approve.waitFor({ state: 'visible', timeout: 10_000 });
    const text = await page.locator('body').innerText();
    assert.ok(text.includes('Interop Browser App'), 'consent page names the application');
    assert.ok(await page.locator('button[name=decision][value=deny]').isVisible(), 'a deny button too');
    await page.screenshot({ path: path.join(SHOTS, 'consent.png'), fullPage: true });

    const [consent] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/consent' && r.request().method() === 'POST'),
      approve.click(),
    ]);
    const sent = await consent.request().allHeaders();
    assert.equal(consent.status(), 303, `POST /consent answered ${consent.status()} (browser sent Origin: ${sent.origin})`);
    await page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: 15_000 });
    finalUrl = new URL(page.url());
  });

  it('ends on the loopback redirect URI with code, state and iss (CSP form-action let the redirect through)', async () => {
    assert.ok(finalUrl, 'the browser reached the redirect URI');
    assert.equal(`${finalUrl.origin}${finalUrl.pathname}`, redirectUri);
    assert.equal(finalUrl.searchParams.get('state'), state);
    assert.equal(finalUrl.searchParams.get('iss'), server.issuer);
    assert.ok(finalUrl.searchParams.get('code'), 'code');
    assert.equal(callbackHits.length, 1, `the client's callback was loaded once: ${callbackHits}`);
    assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|form-action/i.test(e)), []);
    await page.screenshot({ path: path.join(SHOTS, 'redirected.png'), fullPage: true });
  });

  it('the code from the browser exchanges for tokens', async () => {
    const tokens = await exchangeCode(server.issuer, { clientId: client.client_id, code: finalUrl.searchParams.get('code'), verifier, redirectUri, resource: server.mcpUrl });
    assert.equal(tokens.token_type, 'Bearer');
    assert.deepEqual(new Set(tokens.scope.split(' ')), new Set(['files:read', 'chat:read']));
  });

  it('shows an error page, never a redirect, for an unknown client', async () => {
    const hitsBefore = callbackHits.length;
    const response = await page.goto(
      authorizationUrl(server.issuer, { clientId: 'no-such-client', redirectUri, challenge, state, resource: server.mcpUrl }),
    );
    assert.equal(response.status(), 400);
    assert.equal(new URL(page.url()).origin, server.issuer, 'stayed on the server');
    assert.ok((response.headers()['content-type'] ?? '').startsWith('text/html'), 'an HTML page');
    await page.screenshot({ path: path.join(SHOTS, 'error-unknown-client.png'), fullPage: true });
    assert.equal(callbackHits.length, hitsBefore, 'no redirect to the client');
  });

  it('a wrong password shows the login page again with a message', async () => {
    await context.clearCookies(); // signed out
    await page.goto(authorizationUrl(server.issuer, { clientId: client.client_id, redirectUri, challenge, state, resource: server.mcpUrl }));
    await page.locator('input[name=username]').pressSequentially(ALICE.username);
    await page.locator('input[name=password]').pressSequentially('not the password');
    const [login] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/login' && r.request().method() === 'POST'),
      page.locator('button[type=submit]').click(),
    ]);
    await page.waitForLoadState();
    assert.ok(login.status() === 200 || login.status() === 401, `POST /login with a wrong password answered ${login.status()}`);
    await page.locator('input[name=password]').waitFor({ state: 'visible' });
    assert.notEqual(new URL(page.url()).origin, new URL(redirectUri).origin);
    assert.equal(await page.locator('button[name=decision]').count(), 0, 'no consent without a valid login');
    assert.match(await page.locator('body').innerText(), /wrong|incorrect|invalid/i, 'the page says the sign-in failed');
    await page.screenshot({ path: path.join(SHOTS, 'error-login-failed.png'), fullPage: true });
  });

  it('saved the screenshots as artifacts', () => {
    for (const name of ['login.png', 'consent.png', 'redirected.png', 'error-unknown-client.png', 'error-login-failed.png']) {
      const file = path.join(SHOTS, name);
      assert.ok(fs.existsSync(file) && fs.statSync(file).size > 1000, `${file}`);
    }
  });
});
