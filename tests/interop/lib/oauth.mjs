// Small OAuth helpers for the parts of the suite that are not an SDK: a registered public
// client, PKCE, the code exchange. Plain HTTP, as any client would do it.
import crypto from 'node:crypto';
import { User } from './user.mjs';

export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export async function registerPublicClient(issuer, { redirectUri, name = 'omnichat interop test', scope } = {}) {
  const body = {
    client_name: name,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  if (scope) body.scope = scope;
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export function authorizationUrl(issuer, { clientId, redirectUri, challenge, state, scope, resource }) {
  const url = new URL(`${issuer}/authorize`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (scope) url.searchParams.set('scope', scope);
  if (resource) url.searchParams.set('resource', resource);
  return url.href;
}

export async function exchangeCode(issuer, { clientId, code, verifier, redirectUri, resource }) {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: clientId,
    redirect_uri: redirectUri,
  });
  if (resource) form.set('resource', resource);
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Registers a client, signs `credentials` in through the real pages, returns the token response. */
export async function obtainToken(server, credentials, { scope } = {}) {
  const redirectUri = 'http://127.0.0.1:9/callback'; // never contacted: the user stops at it
  const client = await registerPublicClient(server.issuer, { redirectUri });
  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(16).toString('base64url');
  const user = new User(credentials);
  const { callback } = await user.authorize(
    authorizationUrl(server.issuer, { clientId: client.client_id, redirectUri, challenge, state, scope, resource: server.mcpUrl }),
    { redirectUri },
  );
  if (callback.searchParams.get('state') !== state) throw new Error(`state mismatch in ${callback}`);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback}`);
  return exchangeCode(server.issuer, { clientId: client.client_id, code, verifier, redirectUri, resource: server.mcpUrl });
}

export function decodeJwt(token) {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

/** Splits one `Bearer k="v", k2="v2"` challenge into its parameters. */
export function parseChallenge(challenge) {
  const m = /^Bearer\s+(.*)$/s.exec(challenge);
  if (!m) throw new Error(`not a Bearer challenge: ${challenge}`);
  const params = {};
  const re = /([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"\s*(?:,\s*|$)/gy;
  let rest = m[1];
  let p;
  let consumed = 0;
  while ((p = re.exec(rest))) {
    params[p[1]] = p[2].replace(/\\(.)/g, '$1');
    consumed = re.lastIndex;
  }
  if (consumed !== rest.length) throw new Error(`malformed challenge parameters at ${JSON.stringify(rest.slice(consumed))}`);
  return params;
}
