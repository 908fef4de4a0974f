// A real, certified OpenID Provider (the npm package oidc-provider) set up the way
// Authentik presents itself to the portal, for the SSO tests:
//   - issuer http://127.0.0.1:<PORT>/application/o/<APP_SLUG>/ (trailing slash),
//   - a confidential client with one redirect URI, PKCE (S256) required,
//   - claims email, email_verified, name, preferred_username and `groups`,
//     in the id_token and in userinfo,
//   - consent given implicitly (like Authentik's implicit-consent flow),
//   - a one-field sign-in form at /interaction/<uid> the tests submit,
//   - RP-initiated logout with a confirmation form the tests submit.
// Test-only control: PUT /__test/users/<login> {name?, email?, groups?, email_verified?,
// amr?, acr?} changes a person between two sign-ins (`amr`, e.g. ["pwd", "otp"], and
// `acr` are what the next sign-in reports, as Authentik reports the stages passed); GET /__test/jwt/<login> returns a JWT access
// token for them, signed with the provider's key as Authentik signs its JWT access
// tokens (RS256, issuer, aud = client id, groups). Not for production use.
//
// Environment: PORT, PORTAL_BASE_URL, CLIENT_ID, CLIENT_SECRET, APP_SLUG (tenant-portal),
// TENANT_SLUG (acme).
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
};

const port = Number(env('PORT'));
const portal = env('PORTAL_BASE_URL').replace(/\/$/, '');
const appSlug = env('APP_SLUG', 'tenant-portal');
const tenant = env('TENANT_SLUG', 'acme');
const prefix = `/application/o/${appSlug}`;
const issuer = `http://127.0.0.1:${port}${prefix}/`;

// One person per role, one with only another tenant's group, one platform admin.
const people = new Map(Object.entries({
  alice: { name: 'Alice Admin', groups: [`tenant-${tenant}-admin`] },
  sam: { name: 'Sam Staff', groups: [`tenant-${tenant}-staff`] },
  mia: { name: 'Mia Member', groups: [`tenant-${tenant}-member`] },
  nora: { name: 'Nora Nogroup', groups: ['tenant-elsewhere-admin'] },
  root: { name: 'Root Operator', groups: ['portal-super-admin', `tenant-${tenant}-admin`] },
}).map(([login, p]) => [login, {
  sub: `ak-${login}-${randomBytes(4).toString('hex')}`,
  email: `${login}@${tenant}.test`,
  email_verified: true,
  preferred_username: login,
  ...p,
}]));

const bySub = (sub) => [...people.values()].find((p) => p.sub === sub);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [{
    client_id: env('CLIENT_ID', 'tenant-portal'),
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: [`${portal}/auth/oidc/callback`],
    post_logout_redirect_uris: [`${portal}/t/${tenant}/login?signed_out=1`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    // `amr`: how the person signed in (set per person through the control endpoint),
    // in every id_token as Authentik sends it.
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // Like Authentik: the profile claims travel in the id_token too.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><head><title>Sign out</title></head><body>
<h1>Sign out of the test provider?</h1>${form}
<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
</body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const p = bySub(sub);
    if (!p) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        email: p.email,
        email_verified: p.email_verified,
        name: p.name,
        preferred_username: p.preferred_username,
        groups: p.groups,
      }),
    };
  },
  // Implicit consent: the portal is a first-party application.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
const handle = provider.callback();

const html = (body) => `<!DOCTYPE html><html><head><title>Test provider</title></head><body>${body}</body></html>`;

const readForm = (req) => new Promise((resolve, reject) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', () => resolve(new URLSearchParams(data)));
  req.on('error', reject);
});

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const person = people.get(form.get('login') ?? '');
    if (person) {
      const login = { accountId: person.sub };
      if (person.amr) login.amr = person.amr;
      if (person.acr) login.acr = person.acr;
      await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
      return;
    }
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html(`<h1>Sign in to the test provider</h1>
<form method="post" action="/interaction/${uid}/login" id="login-form">
<label for="login">Username</label> <input id="login" name="login" autofocus>
<button type="submit" id="login-submit">Sign in</button>
</form>`));
}

async function control(req, res, login) {
  const person = people.get(login);
  if (!person || req.method !== 'PUT') {
    res.writeHead(404).end();
    return;
  }
  let data = '';
  for await (const chunk of req) data += chunk;
  const change = JSON.parse(data || '{}');
  for (const k of ['name', 'email', 'groups', 'email_verified', 'amr', 'acr']) {
    if (k in change) person[k] = change[k];
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(person));
}

// A JWT for a person, signed with the key the provider publishes.
function accessToken(login) {
  const person = people.get(login);
  if (!person) return null;
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: signingKey.kid };
  const { sub, email, email_verified, name, preferred_username, groups } = person;
  const claims = {
    iss: issuer, aud: env('CLIENT_ID', 'tenant-portal'), sub, email, email_verified, name,
    preferred_username, groups, iat: now, exp: now + 300, azp: env('CLIENT_ID', 'tenant-portal'),
  };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
  return `${input}.${signature}`;
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    let m;
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
      // Mounted under the issuer's path, as Authentik serves each application.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      handle(req, res);
    } else if ((m = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login))?$/))) {
      await interaction(req, res, m[1], m[2]);
    } else if ((m = url.pathname.match(/^\/__test\/users\/(\w+)$/))) {
      await control(req, res, m[1]);
    } else if ((m = url.pathname.match(/^\/__test\/jwt\/(\w+)$/))) {
      const token = accessToken(m[1]);
      res.writeHead(token ? 200 : 404, { 'content-type': 'text/plain' }).end(token ?? '');
    } else if (url.pathname === '/__test/users') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(people)));
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err?.message ?? err));
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`test OpenID Provider at ${issuer}`);
});
