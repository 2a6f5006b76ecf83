// An independent upstream OpenID Provider for Tessera's federation tests: Node `oidc-provider`
// (pinned in package-lock.json) with one confidential client and one account. The person signs
// in and agrees at once (no pages), so a test can walk the redirects with an HTTP client.
//
// Environment: PORT (0 for any), TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET, TESSERA_REDIRECT_URI,
// ACCOUNT_ID, ACCOUNT_EMAIL, ACCOUNT_EMAIL_VERIFIED ("true"/"false"), ACCOUNT_NAME.
// Prints one JSON line {"issuer": "..."} once listening.

import http from 'node:http';
import Provider from 'oidc-provider';

// stdout carries only the issuer line; the library's notices go to stderr.
console.log = console.error;
console.info = console.error;

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return v;
};

const account = {
  sub: env('ACCOUNT_ID'),
  email: env('ACCOUNT_EMAIL'),
  email_verified: env('ACCOUNT_EMAIL_VERIFIED') === 'true',
  name: env('ACCOUNT_NAME'),
};

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('TESSERA_CLIENT_ID'),
      client_secret: env('TESSERA_CLIENT_SECRET'),
      redirect_uris: [env('TESSERA_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    if (id !== account.sub) return undefined;
    return { accountId: id, claims: async () => ({ ...account }) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['tessera-federation-test-cookie-key'] },
});
// Plain HTTP on loopback (tests only).
provider.proxy = false;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: account.sub } };
  } else {
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope));
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  } else {
    callback(req, res);
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
