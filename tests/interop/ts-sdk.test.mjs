// The journey ChatGPT makes, driven by the official MCP TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in package-lock.json) against the real server:
// anonymous session → tools/list → public tool → challenge on a protected tool → discovery and
// dynamic registration through the SDK's auth() → login and consent as the user → code exchange →
// protected tools with the token → refresh rotation and reuse detection → a narrower second
// authorization that meets insufficient_scope.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  auth,
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  refreshAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { InvalidGrantError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { ResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { ALICE, packageVersion, startServer } from './lib/server.mjs';
import { User } from './lib/user.mjs';
import { decodeJwt, parseChallenge } from './lib/oauth.mjs';

const SDK_VERSION = packageVersion('@modelcontextprotocol/sdk');

/** What each tool must declare (DESIGN.md, "Tools"). */
const EXPECTED_SCHEMES = {
  public_search: [{ type: 'noauth' }],
  private_files_list: [{ type: 'oauth2', scopes: ['files:read'] }],
  private_files_read: [{ type: 'oauth2', scopes: ['files:read'] }],
  private_files_write: [{ type: 'oauth2', scopes: ['files:write'] }],
  private_files_delete: [{ type: 'oauth2', scopes: ['files:write'] }],
  private_chat_list: [{ type: 'oauth2', scopes: ['chat:read'] }],
  private_chat_read: [{ type: 'oauth2', scopes: ['chat:read'] }],
  private_chat_search: [{ type: 'oauth2', scopes: ['chat:read'] }],
  private_chat_write: [{ type: 'oauth2', scopes: ['chat:write'] }],
  ssh_hosts: [{ type: 'oauth2', scopes: ['ssh:execute'] }],
  ssh_execute: [{ type: 'oauth2', scopes: ['ssh:execute'] }],
};

/** An OAuthClientProvider as a CLI or desktop client implements it: state kept in memory. */
class MemoryProvider {
  constructor(redirectUrl, clientMetadata, { clientInformation } = {}) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    this._clientInformation = clientInformation;
    this._tokens = undefined;
    this._codeVerifier = undefined;
    this.lastState = undefined;
    this.authorizationUrl = undefined;
    this.saved = { clientInformation: 0, tokens: 0 };
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return this._clientMetadata;
  }
  state() {
    this.lastState = crypto.randomBytes(16).toString('base64url');
    return this.lastState;
  }
  clientInformation() {
    return this._clientInformation;
  }
  saveClientInformation(info) {
    this._clientInformation = info;
    this.saved.clientInformation++;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
    this.saved.tokens++;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
  }
  saveCodeVerifier(verifier) {
    this._codeVerifier = verifier;
  }
  codeVerifier() {
    if (!this._codeVerifier) throw new Error('no code verifier saved');
    return this._codeVerifier;
  }
}

async function connect(mcpUrl, authProvider) {
  const client = new Client({ name: 'omnichat-interop-ts', version: SDK_VERSION });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), authProvider ? { authProvider } : {});
  await client.connect(transport);
  return { client, transport };
}

function challengeOf(result) {
  assert.equal(result.isError, true, `expected isError: ${JSON.stringify(result)}`);
  const challenges = result._meta?.['mcp/www_authenticate'];
  assert.ok(Array.isArray(challenges) && challenges.length === 1, `mcp/www_authenticate: ${JSON.stringify(result._meta)}`);
  assert.ok(!challenges[0].includes("'"), `stray single quote in ${challenges[0]}`);
  return parseChallenge(challenges[0]);
}

function structured(result) {
  assert.notEqual(result.isError, true, `tool failed: ${JSON.stringify(result.content)}`);
  assert.ok(result.structuredContent && typeof result.structuredContent === 'object', `no structuredContent: ${JSON.stringify(result)}`);
  return result.structuredContent;
}

describe(`MCP TypeScript SDK ${SDK_VERSION}: the ChatGPT journey`, () => {
  let server;
  let anonymous;
  let challenge;
  let provider;
  const user = new User(ALICE);
  const redirectUrl = 'http://127.0.0.1:33418/callback'; // loopback; the user stops at it
  let authorized;
  let issuerMetadata;

  before(async () => {
    server = await startServer({ name: 'ts-sdk' });
  });
  after(async () => {
    await anonymous?.client.close().catch(() => {});
    await authorized?.client.close().catch(() => {});
    await server?.stop();
  });

  it('initializes anonymously', async () => {
    anonymous = await connect(server.mcpUrl);
    const info = anonymous.client.getServerVersion();
    assert.equal(info?.name, 'omnichat');
    assert.ok(anonymous.client.getServerCapabilities()?.tools, 'server declares tools');
    assert.ok(anonymous.transport.sessionId, 'server assigned an Mcp-Session-Id');
  });

  it('lists the tools without a token, each with securitySchemes (top level and _meta)', async () => {
    const typed = await anonymous.client.listTools();
    // The SDK's typed Tool drops unknown top-level keys; ChatGPT reads the raw document.
    const raw = await anonymous.client.request({ method: 'tools/list', params: {} }, ResultSchema);
    const names = raw.tools.map((t) => t.name);
    assert.deepEqual(new Set(typed.tools.map((t) => t.name)), new Set(names));
    for (const name of Object.keys(EXPECTED_SCHEMES)) assert.ok(names.includes(name), `tool ${name} is listed (have ${names.join(', ')})`);
    for (const tool of raw.tools) {
      assert.ok(Array.isArray(tool.securitySchemes) && tool.securitySchemes.length > 0, `${tool.name}: top-level securitySchemes`);
      assert.deepEqual(tool._meta?.securitySchemes, tool.securitySchemes, `${tool.name}: _meta.securitySchemes mirrors the top level`);
      for (const scheme of tool.securitySchemes) {
        assert.ok(['noauth', 'oauth2'].includes(scheme.type), `${tool.name}: scheme type ${scheme.type}`);
        if (scheme.type === 'oauth2') assert.ok(Array.isArray(scheme.scopes), `${tool.name}: oauth2 scheme lists scopes`);
      }
      if (EXPECTED_SCHEMES[tool.name]) assert.deepEqual(tool.securitySchemes, EXPECTED_SCHEMES[tool.name], `${tool.name} scheme`);
      const typedTool = typed.tools.find((t) => t.name === tool.name);
      assert.deepEqual(typedTool._meta?.securitySchemes, tool.securitySchemes, `${tool.name}: the SDK keeps _meta.securitySchemes`);
    }
  });

  it('calls public_search without a token', async () => {
    const result = await anonymous.client.callTool({ name: 'public_search', arguments: { query: 'OmniChat', limit: 3 } });
    const content = structured(result);
    assert.equal(content.query, 'OmniChat');
    assert.ok(Array.isArray(content.results), 'results array');
    assert.ok(content.results.length >= 1 && content.results.length <= 3, `1..3 results, got ${content.results.length}`);
  });

  it('gets the mcp/www_authenticate challenge from a protected tool without a token', async () => {
    const result = await anonymous.client.callTool({ name: 'private_files_list', arguments: { path: '' } });
    challenge = challengeOf(result);
    assert.equal(challenge.resource_metadata, `${server.issuer}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(challenge.error, 'invalid_token');
    assert.ok(challenge.error_description, 'error_description present');
  });

  it('a request with a bad token gets HTTP 401 and a WWW-Authenticate header the SDK parses', async () => {
    const res = await fetch(server.mcpUrl, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-valid-token', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    const params = extractWWWAuthenticateParams(res);
    assert.equal(params.resourceMetadataUrl?.href, challenge.resource_metadata);
    assert.equal(params.error, 'invalid_token');
  });

  it('discovers the resource (RFC 9728) and the authorization server (RFC 8414) from the MCP URL', async () => {
    const prm = await discoverOAuthProtectedResourceMetadata(server.mcpUrl);
    assert.equal(prm.resource, server.mcpUrl);
    assert.deepEqual(prm.authorization_servers, [server.issuer]);
    const viaChallenge = await discoverOAuthProtectedResourceMetadata(server.mcpUrl, { resourceMetadataUrl: new URL(challenge.resource_metadata) });
    assert.deepEqual(viaChallenge, prm);
    issuerMetadata = await discoverAuthorizationServerMetadata(prm.authorization_servers[0]);
    assert.equal(issuerMetadata.issuer, server.issuer);
    assert.deepEqual(issuerMetadata.code_challenge_methods_supported, ['S256']);
    assert.equal(issuerMetadata.authorization_response_iss_parameter_supported, true);
    assert.ok(issuerMetadata.registration_endpoint, 'registration_endpoint');
  });

  it("registers dynamically and starts authorization through the SDK's auth()", async () => {
    provider = new MemoryProvider(redirectUrl, {
      client_name: 'omnichat interop (TypeScript SDK)',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const outcome = await auth(provider, { serverUrl: server.mcpUrl, resourceMetadataUrl: new URL(challenge.resource_metadata) });
    assert.equal(outcome, 'REDIRECT');
    assert.equal(provider.saved.clientInformation, 1, 'registered once');
    const info = provider.clientInformation();
    assert.ok(info.client_id, 'client_id issued');
    assert.equal(info.client_secret, undefined, 'public client gets no secret');
    const url = provider.authorizationUrl;
    assert.equal(`${url.origin}${url.pathname}`, issuerMetadata.authorization_endpoint);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('resource'), server.mcpUrl);
    assert.equal(url.searchParams.get('client_id'), info.client_id);
    assert.equal(url.searchParams.get('state'), provider.lastState);
  });

  let code;
  it('the user signs in and approves on the real pages; the redirect carries code, state and iss', async () => {
    const { callback, pages } = await user.authorize(provider.authorizationUrl.href, { redirectUri: redirectUrl });
    assert.deepEqual(pages.map((p) => p.kind), ['login', 'consent']);
    const consent = pages[1].html;
    assert.ok(consent.includes('omnichat interop (TypeScript SDK)'), 'consent page names the application');
    for (const scope of ['files:read', 'files:write', 'chat:read', 'chat:write', 'ssh:execute']) {
      assert.ok(consent.includes(scope), `consent page shows ${scope}`);
    }
    assert.equal(callback.searchParams.get('state'), provider.lastState);
    assert.equal(callback.searchParams.get('iss'), server.issuer);
    assert.equal(callback.searchParams.getAll('code').length, 1);
    code = callback.searchParams.get('code');
  });

  it('exchanges the code (PKCE) for a JWT access token and a refresh token', async () => {
    const outcome = await auth(provider, { serverUrl: server.mcpUrl, authorizationCode: code, resourceMetadataUrl: new URL(challenge.resource_metadata) });
    assert.equal(outcome, 'AUTHORIZED');
    const tokens = provider.tokens();
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.refresh_token, 'refresh token issued');
    assert.deepEqual(new Set(tokens.scope.split(' ')), new Set(['files:read', 'files:write', 'chat:read', 'chat:write', 'ssh:execute']));
    const { header, payload } = decodeJwt(tokens.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.ok(header.kid, 'kid');
    assert.equal(payload.iss, server.issuer);
    assert.equal(payload.aud, server.mcpUrl);
    assert.equal(payload.client_id, provider.clientInformation().client_id);
  });

  it('calls protected tools with the token: files write/read/list, chat write/read', async () => {
    authorized = await connect(server.mcpUrl, provider);
    const written = structured(await authorized.client.callTool({ name: 'private_files_write', arguments: { path: 'notes/interop.txt', content: 'hello from the TypeScript SDK' } }));
    assert.equal(written.path, 'notes/interop.txt');
    assert.equal(written.size, Buffer.byteLength('hello from the TypeScript SDK'));
    const read = structured(await authorized.client.callTool({ name: 'private_files_read', arguments: { path: 'notes/interop.txt' } }));
    assert.equal(read.content, 'hello from the TypeScript SDK');
    assert.equal(read.encoding, 'utf-8');
    const listed = structured(await authorized.client.callTool({ name: 'private_files_list', arguments: { path: 'notes' } }));
    assert.ok(listed.entries.some((e) => e.name === 'interop.txt' && e.kind === 'file'), JSON.stringify(listed));

    const message = structured(await authorized.client.callTool({ name: 'private_chat_write', arguments: { content: 'interop says hi' } }));
    assert.ok(message.conversation_id && message.message_id, JSON.stringify(message));
    assert.equal(message.new_conversation, true);
    const conversation = structured(await authorized.client.callTool({ name: 'private_chat_read', arguments: { conversation_id: message.conversation_id } }));
    assert.ok(conversation.messages.some((m) => m.id === message.message_id && m.content === 'interop says hi'), JSON.stringify(conversation));
  });

  it('rotates the refresh token; reusing a token two generations old revokes the grant', async () => {
    const clientInformation = provider.clientInformation();
    const r0 = provider.tokens().refresh_token;
    // An SDK client refreshes through auth() when it holds a refresh token.
    const outcome = await auth(provider, { serverUrl: server.mcpUrl });
    assert.equal(outcome, 'AUTHORIZED');
    const r1 = provider.tokens().refresh_token;
    assert.ok(r1 && r1 !== r0, 'refresh token rotated');

    const second = await refreshAuthorization(server.issuer, { metadata: issuerMetadata, clientInformation, refreshToken: r1, resource: new URL(server.mcpUrl) });
    const r2 = second.refresh_token;
    assert.ok(r2 && r2 !== r1, 'rotated again');
    // The new access token works.
    const probe = await connect(server.mcpUrl, new MemoryProviderWithTokens(second));
    structured(await probe.client.callTool({ name: 'private_files_list', arguments: { path: '' } }));
    await probe.client.close();

    await assert.rejects(
      refreshAuthorization(server.issuer, { metadata: issuerMetadata, clientInformation, refreshToken: r0, resource: new URL(server.mcpUrl) }),
      (error) => error instanceof InvalidGrantError,
      'a refresh token two generations old is refused',
    );
    await assert.rejects(
      refreshAuthorization(server.issuer, { metadata: issuerMetadata, clientInformation, refreshToken: r2, resource: new URL(server.mcpUrl) }),
      (error) => error instanceof InvalidGrantError,
      'the whole grant is revoked: the newest refresh token fails too',
    );
  });

  it('a second authorization for files:read only: private_files_write gets insufficient_scope naming files:write', async () => {
    const narrow = new MemoryProvider(redirectUrl, provider.clientMetadata, { clientInformation: provider.clientInformation() });
    const outcome = await auth(narrow, { serverUrl: server.mcpUrl, scope: 'files:read' });
    assert.equal(outcome, 'REDIRECT');
    assert.equal(narrow.saved.clientInformation, 0, 'no second registration');
    assert.equal(narrow.authorizationUrl.searchParams.get('scope'), 'files:read');
    const { callback, pages } = await user.authorize(narrow.authorizationUrl.href, { redirectUri: redirectUrl });
    // Still signed in (session cookie): straight to consent, for the new, narrower scope set.
    assert.deepEqual(pages.map((p) => p.kind), ['consent']);
    assert.equal(callback.searchParams.get('state'), narrow.lastState);
    assert.equal(await auth(narrow, { serverUrl: server.mcpUrl, authorizationCode: callback.searchParams.get('code') }), 'AUTHORIZED');
    assert.equal(narrow.tokens().scope, 'files:read');

    const session = await connect(server.mcpUrl, narrow);
    try {
      const read = structured(await session.client.callTool({ name: 'private_files_read', arguments: { path: 'notes/interop.txt' } }));
      assert.equal(read.content, 'hello from the TypeScript SDK');
      const denied = challengeOf(await session.client.callTool({ name: 'private_files_write', arguments: { path: 'notes/x.txt', content: 'x' } }));
      assert.equal(denied.error, 'insufficient_scope');
      assert.ok(denied.scope?.split(' ').includes('files:write'), `scope names files:write: ${JSON.stringify(denied)}`);
      assert.equal(denied.resource_metadata, `${server.issuer}/.well-known/oauth-protected-resource/mcp`);
    } finally {
      await session.client.close();
    }
  });
});

/** A provider that only hands out a token it was given (for a one-off probe). */
class MemoryProviderWithTokens extends MemoryProvider {
  constructor(tokens) {
    super('http://127.0.0.1:33418/callback', { redirect_uris: ['http://127.0.0.1:33418/callback'] });
    this._tokens = tokens;
  }
}
