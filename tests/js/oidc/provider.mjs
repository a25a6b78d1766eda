#!/usr/bin/env node
// A real OpenID provider for the test suite: `oidc-provider` (a certified OpenID Connect
// implementation) on http://127.0.0.1:PORT, with one confidential client, two users in two
// groups and its own login form that checks passwords.
//
//   node tests/js/oidc/provider.mjs --client-id signpost --client-secret S \
//        --redirect-uri http://127.0.0.1:8080/auth/callback [--redirect-uri ...] \
//        [--post-logout-redirect-uri URI ...] [--resource urn:signpost:api] \
//        [--jwt-access-tokens] [--users JSON]
//
// Every option can also come from the environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URIS and OIDC_POST_LOGOUT_REDIRECT_URIS (space-separated), OIDC_RESOURCE,
// OIDC_JWT_ACCESS_TOKENS=1, OIDC_USERS (JSON). Arguments win over the environment.
//
// When it listens, it prints ONE JSON line on stdout and nothing else ever goes there:
//   {"issuer":"http://127.0.0.1:PORT","client_id":"…","resource":"…","users":[…]}
// Logs go to stderr. It stops on SIGTERM/SIGINT, or when stdin closes (so it never
// outlives the test that started it with a piped stdin).
//
// Access tokens: opaque by default, and then the userinfo endpoint answers them. An
// authorization request (or token request) with `resource=<--resource>` gets an RFC 9068
// JWT access token instead, signed with the key in the JWKS, `aud` = the resource, carrying
// `sub`, `client_id`, `scope` and `groups`; with --jwt-access-tokens that resource is the
// default, so every access token is a JWT. (oidc-provider does not let a resource-server
// token call userinfo: userinfo is for opaque tokens.)

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const DEFAULT_USERS = [
  { username: 'alice', password: 'alice-password', groups: ['tier1'], name: 'Alice Example' },
  { username: 'bob', password: 'bob-password', groups: ['tier2'], name: 'Bob Example' },
];

function config() {
  const { values } = parseArgs({
    options: {
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      resource: { type: 'string' },
      'jwt-access-tokens': { type: 'boolean' },
      users: { type: 'string' },
    },
  });
  const env = process.env;
  const list = (s) => (s ?? '').split(/[\s,]+/).filter(Boolean);
  const cfg = {
    clientId: values['client-id'] ?? env.OIDC_CLIENT_ID ?? 'signpost',
    clientSecret: values['client-secret'] ?? env.OIDC_CLIENT_SECRET ?? 'signpost-test-secret',
    redirectUris: values['redirect-uri'] ?? list(env.OIDC_REDIRECT_URIS),
    postLogoutRedirectUris:
      values['post-logout-redirect-uri'] ?? list(env.OIDC_POST_LOGOUT_REDIRECT_URIS),
    resource: values.resource ?? env.OIDC_RESOURCE ?? 'urn:signpost:api',
    jwtAccessTokens: values['jwt-access-tokens'] ?? env.OIDC_JWT_ACCESS_TOKENS === '1',
    users: JSON.parse(values.users ?? env.OIDC_USERS ?? 'null') ?? DEFAULT_USERS,
  };
  if (cfg.redirectUris.length === 0) {
    throw new Error('no redirect URI: pass --redirect-uri URI (or OIDC_REDIRECT_URIS)');
  }
  return cfg;
}

const html = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  // No script and no style: the page works and reads the same under any CSP.
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title></head>
<body><main>
<h1>${html(title)}</h1>
${body}
</main></body>
</html>`;
}

function loginForm(uid, clientId, error, username = '') {
  const alert = error ? `<p role="alert" id="login-error">${html(error)}</p>` : '';
  return page(
    'Sign in to the test provider',
    `<p>Signing in to <strong>${html(clientId)}</strong>.</p>
${alert}
<form method="post" action="/interaction/${html(uid)}/login" id="login-form">
  <p><label for="username">Username</label>
     <input id="username" name="username" autocomplete="username" required autofocus value="${html(username)}"></p>
  <p><label for="password">Password</label>
     <input id="password" name="password" type="password" autocomplete="current-password" required></p>
  <p><button type="submit" id="sign-in">Sign in</button></p>
</form>
<p><a href="/interaction/${html(uid)}/abort" id="cancel">Cancel</a></p>`,
  );
}

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function main() {
  const cfg = config();
  const users = new Map(cfg.users.map((u) => [u.username, u]));

  // Listen first: the issuer must name the real port.
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

  const claimsOf = (u) => ({
    sub: u.username,
    name: u.name ?? u.username,
    preferred_username: u.username,
    email: `${u.username}@example.test`,
    email_verified: true,
    groups: u.groups,
  });

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: cfg.clientId,
        client_secret: cfg.clientSecret,
        redirect_uris: cfg.redirectUris,
        post_logout_redirect_uris: cfg.postLogoutRedirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // PKCE on every authorization request, confidential client or not.
    pkce: { required: () => true },
    // `groups` comes with the `openid` scope, so every ID token and userinfo has it; the
    // `groups` scope asks for it alone.
    claims: {
      openid: ['sub', 'groups'],
      groups: ['groups'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'api'],
    // Claims in the ID token from the token endpoint too (the code flow), not only in
    // userinfo.
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      const u = users.get(id);
      if (!u) return undefined;
      return { accountId: id, claims: async () => claimsOf(u) };
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'AccessToken') return undefined;
      const u = users.get(token.accountId);
      return u ? { groups: u.groups } : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page(
            'Sign out of the test provider',
            `${form}<p><button type="submit" form="op.logoutForm" value="yes" name="logout" id="logout-yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" id="logout-no">No, stay signed in</button></p>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(_ctx, _client, oneOf) {
          if (oneOf) return oneOf;
          return cfg.jwtAccessTokens ? cfg.resource : undefined;
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx, indicator) {
          if (indicator !== cfg.resource) throw new errors.InvalidTarget();
          return {
            scope: 'api',
            audience: cfg.resource,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'Test provider error',
        `<pre id="error">${html(JSON.stringify(out, null, 2))}</pre>`,
      );
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));

  const oidc = provider.callback();

  // The interactions: a login form that checks the password, and consent granted at once
  // (a first-party client), so the only page a person sees is the login form.
  async function interaction(req, res, uid, action) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, page('Wrong interaction', ''));
    const { prompt, params } = details;

    if (action === 'abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }

    if (prompt.name === 'login') {
      if (action === 'login' && req.method === 'POST') {
        const form = await readForm(req);
        const username = form.get('username') ?? '';
        const u = users.get(username);
        if (!u || !sameSecret(form.get('password') ?? '', u.password)) {
          return send(res, 401, loginForm(uid, params.client_id, 'Wrong username or password.', username));
        }
        return provider.interactionFinished(req, res, { login: { accountId: u.username } }, {
          mergeWithLastSubmission: false,
        });
      }
      return send(res, 200, loginForm(uid, params.client_id));
    }

    if (prompt.name === 'consent') {
      const { grantId, session } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const saved = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId: saved } }, {
        mergeWithMissingSubmission: true,
      });
    }

    return send(res, 501, page('Not implemented', `<p>prompt ${html(prompt.name)}</p>`));
  }

  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)(?:\/(login|abort))?(?:\?.*)?$/.exec(req.url);
    if (!m) return oidc(req, res);
    interaction(req, res, m[1], m[2]).catch((err) => {
      console.error('interaction failed:', err);
      if (!res.headersSent) {
        send(res, err.statusCode ?? 500, page('Sign-in failed', `<p id="error">${html(err.message)}</p>`));
      }
    });
  });

  process.stdout.write(
    `${JSON.stringify({
      issuer,
      client_id: cfg.clientId,
      redirect_uris: cfg.redirectUris,
      resource: cfg.resource,
      jwt_access_tokens: cfg.jwtAccessTokens,
      users: cfg.users.map(({ username, password, groups }) => ({ username, password, groups })),
    })}\n`,
  );

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((err) => {
  console.error(`oidc provider failed to start: ${err.stack ?? err}`);
  process.exit(1);
});
