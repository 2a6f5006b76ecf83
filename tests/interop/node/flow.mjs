// Tessera with the Node `openid-client` library (v6), as a web application would use it:
// discovery, the authorization code flow with PKCE and nonce through the real hosted sign-in
// page (driven with fetch and a tiny cookie jar; no browser needed), ID token validation by the
// library (signature included), UserInfo, refresh, client credentials, introspection and
// revocation. Prints one JSON summary line; exits non-zero on any failure.
//
// Configuration (environment): TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET,
// TESSERA_REDIRECT_URI, TESSERA_MACHINE_CLIENT_ID, TESSERA_MACHINE_CLIENT_SECRET,
// TESSERA_MACHINE_SCOPE, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD.

import { readFile } from 'node:fs/promises';
import * as oidc from 'openid-client';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/// A cookie jar for one host: enough for the hosted pages (cookies scoped to the tenant path).
class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/// One hop of a browser: no automatic redirects, cookies kept.
async function browse(jar, url, init = {}) {
  const headers = new Headers(init.headers ?? {});
  const cookie = jar.header();
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

function unescapeHtml(s) {
  return s
    .replaceAll('&#x2f;', '/')
    .replaceAll('&#x27;', "'")
    .replaceAll('&#39;', "'")
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function hiddenInput(html, name) {
  const m = html.match(new RegExp(`name="${name}"[^>]*value="([^"]*)"`));
  check(m, `the page has an input ${name}`);
  return unescapeHtml(m[1]);
}

/// From the authorization URL to the redirect back to the application, signing in on the way,
/// following the server's redirects as a browser does.
async function signInThroughHostedPage(authorizationUrl, email, password, redirectUri) {
  const jar = new CookieJar();
  let r = await browse(jar, authorizationUrl);
  check(r.status === 303, `authorize redirects to the sign-in page (got ${r.status})`);
  const loginUrl = new URL(r.headers.get('location'), authorizationUrl);
  r = await browse(jar, loginUrl);
  check(r.status === 200, `the sign-in page opens (got ${r.status})`);
  const html = await r.text();
  const form = new URLSearchParams({
    email,
    password,
    csrf_token: hiddenInput(html, 'csrf_token'),
    return_to: hiddenInput(html, 'return_to'),
  });
  r = await browse(jar, new URL(loginUrl.pathname, loginUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  // RFC 9700 §4.12: a redirect after a form with a password is 303, never 307.
  check(r.status === 303, `signing in answers 303 (got ${r.status}: ${await r.text()})`);
  let url = loginUrl;
  for (let hop = 0; hop < 5; hop++) {
    const location = new URL(r.headers.get('location'), url);
    if (location.href.startsWith(redirectUri)) return location;
    url = location;
    r = await browse(jar, url);
    check(r.status === 302 || r.status === 303, `GET ${url} redirects (got ${r.status})`);
  }
  throw new Error('check failed: no redirect to the application within 5 hops');
}

async function main() {
  const issuer = new URL(env('TESSERA_ISSUER'));
  const redirectUri = env('TESSERA_REDIRECT_URI');
  const pkg = JSON.parse(
    await readFile(new URL('./node_modules/openid-client/package.json', import.meta.url), 'utf8'),
  );

  // Discovery; plain http is allowed because the test server has no TLS.
  const config = await oidc.discovery(
    issuer,
    env('TESSERA_CLIENT_ID'),
    undefined,
    oidc.ClientSecretBasic(env('TESSERA_CLIENT_SECRET')),
    { execute: [oidc.allowInsecureRequests] },
  );
  // Also verify ID token signatures against the JWKS (by default the library trusts the TLS
  // back channel for tokens from the token endpoint).
  oidc.enableNonRepudiationChecks(config);
  const meta = config.serverMetadata();

  // Authorization code with PKCE (S256), state and nonce.
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const callback = await signInThroughHostedPage(
    authorizationUrl,
    env('TESSERA_USER_EMAIL'),
    env('TESSERA_USER_PASSWORD'),
    redirectUri,
  );
  // The library checks state, iss (RFC 9207) and, in the token response, the ID token.
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  check(claims.nonce === nonce, 'the ID token carries the nonce');

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'rotation');

  const introspection = await oidc.tokenIntrospection(config, refreshed.access_token);

  // A machine client with client credentials (client_secret_post this time).
  const machine = await oidc.discovery(
    issuer,
    env('TESSERA_MACHINE_CLIENT_ID'),
    undefined,
    oidc.ClientSecretPost(env('TESSERA_MACHINE_CLIENT_SECRET')),
    { execute: [oidc.allowInsecureRequests] },
  );
  const cc = await oidc.clientCredentialsGrant(machine, { scope: env('TESSERA_MACHINE_SCOPE') });
  const machineIntrospection = await oidc.tokenIntrospection(machine, cc.access_token);

  // Revoking the refresh token ends the grant, its access tokens included.
  await oidc.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
  const refreshAfter = await oidc.tokenIntrospection(config, refreshed.refresh_token);
  const accessAfter = await oidc.tokenIntrospection(config, refreshed.access_token);

  const summary = {
    ok: true,
    library: 'openid-client',
    version: pkg.version,
    discovery: { issuer: meta.issuer, token_endpoint: meta.token_endpoint },
    authorization_response: { iss: callback.searchParams.get('iss') },
    id_token_signature_checked: true,
    id_token_claims: claims,
    userinfo,
    refresh: { rotated: true, id_token_sub: refreshed.claims()?.sub ?? null },
    client_credentials: { scope: cc.scope, token_type: cc.token_type },
    introspection,
    machine_introspection: machineIntrospection,
    revocation: {
      refresh_token_active_after: refreshAfter.active,
      access_token_active_after: accessAfter.active,
    },
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  if (error?.cause) process.stderr.write(`cause: ${JSON.stringify(error.cause)}\n`);
  process.exit(1);
});
