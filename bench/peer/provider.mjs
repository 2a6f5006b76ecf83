// The peer of tessera-bench's `peer` scenario: Node oidc-provider (pinned in package-lock.json),
// configured for the same two requests the runner sends to Tessera's client-credentials and
// introspection scenarios, on a loopback port.
//
// - one confidential client (client_secret_basic) with the client_credentials grant, scope
//   api:read;
// - access tokens for the resource https://api.bench.example/ (the default resource) are
//   RFC 9068 JWTs signed with ES256, like Tessera's;
// - token introspection is enabled. oidc-provider does not store the JWT access tokens it issues
//   (they are self-contained), so it answers active:false for them; the runner introspects a
//   token for a second resource, https://opaque.bench.example/, which is opaque and stored (in
//   the library's default in-memory store).
//
// Environment: BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, PORT (0 or unset for any free port).
// Prints one JSON line {"issuer": "..."} once listening; everything else goes to stderr.

import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

console.log = console.error;
console.info = console.error;
console.warn = console.error;

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return v;
};

const JWT_RESOURCE = 'https://api.bench.example/';
const OPAQUE_RESOURCE = 'https://opaque.bench.example/';
const SCOPE = 'api:read';

// Signing keys made at start, as Tessera makes a tenant's on first use. RS256 is there because
// the library wants one for ID tokens; the access tokens use ES256.
const privateJwk = (type, options, extra) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  use: 'sig',
  ...extra,
});
const jwks = {
  keys: [
    privateJwk('ec', { namedCurve: 'P-256' }, { alg: 'ES256', kid: 'bench-es256' }),
    privateJwk('rsa', { modulusLength: 2048 }, { alg: 'RS256', kid: 'bench-rs256' }),
  ],
};

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('BENCH_CLIENT_ID'),
      client_secret: env('BENCH_CLIENT_SECRET'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SCOPE,
    },
  ],
  jwks,
  // The scopes this provider knows besides the OpenID ones.
  scopes: [SCOPE],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? JWT_RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        switch (resource) {
          case JWT_RESOURCE:
            return {
              scope: SCOPE,
              audience: JWT_RESOURCE,
              accessTokenTTL: 600,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            };
          case OPAQUE_RESOURCE:
            return {
              scope: SCOPE,
              audience: OPAQUE_RESOURCE,
              accessTokenTTL: 600,
              accessTokenFormat: 'opaque',
            };
          default:
            throw new errors.InvalidTarget();
        }
      },
    },
  },
  cookies: { keys: ['tessera-bench-peer-cookie-key'] },
});
// Plain HTTP on loopback, no proxy in front.
provider.proxy = false;

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
