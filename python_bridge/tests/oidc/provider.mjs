// A real OpenID provider for the o16n tests: node-oidc-provider (OpenID certified) on loopback.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {"issuer", "port", "keysFile", "clients": [{"client_id", "client_secret", "claims": {...}}],
//          "resources": {"<indicator>": {"audience", "alg", "ttl"}}, "defaultResource",
//          "deviceClients": [{"client_id", "codeTtl", "slowDownFirst"}], "deviceInterval",
//          "accounts": {"<login>": {claims}}}
// keysFile holds the private JWKS ({"keys": [...]}). SIGHUP re-reads it and swaps the provider,
// which is how the tests rotate the signing keys while o16n keeps running.
// Tokens come from the client-credentials grant as JWT access tokens, one audience per resource
// indicator, signed with the resource's algorithm; a client's "claims" are added to its tokens.
//
// Device clients (public, no secret) use the device authorization grant (RFC 8628): the user side
// is the provider's own pages (/device, then the development login and consent pages, where any
// login name is accepted; an account's "claims" go into its access tokens). Two things
// node-oidc-provider leaves out are added here so the relay meets what RFC 8628 allows: the
// device authorization answer carries "interval", and a poll sooner than the interval (or the
// first poll of a "slowDownFirst" client) is answered "slow_down", after which the interval
// grows by 5 s. GET /test/polls/<client_id> shows the poll times and interval of that client's
// latest device authorization.
import fs from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const deviceClients = new Map((config.deviceClients ?? []).map((c) => [c.client_id, c]));
const accounts = config.accounts ?? {};
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// device_code -> {times: [ms], interval: s, slowedDown: bool}; client_id -> its latest record
const flows = new Map();
const latestFlow = new Map();

function newFlow(clientId, deviceCode) {
  const record = { times: [], interval: config.deviceInterval ?? 5, slowedDown: false };
  flows.set(deviceCode, record);
  latestFlow.set(clientId, record);
  return record;
}

// RFC 8628 section 3.5: "slow_down" when polled too fast; the interval then grows by 5 seconds.
async function enforcePollInterval(ctx, next) {
  await next();
  const params = ctx.oidc?.params;
  if (ctx.oidc?.route !== 'token' || params?.grant_type !== DEVICE_GRANT) {
    return;
  }
  const clientId = ctx.oidc.client?.clientId;
  const record = flows.get(params.device_code);
  if (!record) {
    return; // an unknown device code: the provider's own answer stands
  }
  const now = Date.now();
  const last = record.times.at(-1);
  record.times.push(now);
  if (ctx.body?.error !== 'authorization_pending') {
    return; // tokens or a final error: never hidden
  }
  const tooFast = last !== undefined && now - last < record.interval * 1000 - 50;
  const forced = deviceClients.get(clientId)?.slowDownFirst && !record.slowedDown;
  if (tooFast || forced) {
    record.slowedDown = true;
    record.interval += 5;
    ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly' };
  }
}

function build() {
  const jwks = JSON.parse(fs.readFileSync(config.keysFile, 'utf8'));
  const byId = new Map(config.clients.map((c) => [c.client_id, c]));
  const provider = new Provider(config.issuer, {
    jwks,
    clients: [
      ...config.clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      })),
      ...[...deviceClients.values()].map((c) => ({
        client_id: c.client_id,
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
      })),
    ],
    findAccount: (_ctx, sub) => (accounts[sub] ? { accountId: sub, claims: () => ({ sub, ...accounts[sub] }) } : undefined),
    ttl: {
      DeviceCode: (_ctx, _token, client) => deviceClients.get(client.clientId)?.codeTtl ?? 600,
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: true }, // the development login and consent pages: any login name
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const rs = config.resources[indicator];
          if (!rs) throw new errors.InvalidTarget();
          return {
            scope: 'api',
            audience: rs.audience,
            accessTokenTTL: rs.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: rs.alg } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => (token.accountId ? accounts[token.accountId] : byId.get(token.clientId)?.claims),
  });
  provider.on('device_authorization.success', (ctx, body) => {
    body.interval = newFlow(ctx.oidc.client.clientId, body.device_code).interval;
  });
  provider.use(enforcePollInterval);
  return provider.callback();
}

let handle = build();
const server = http.createServer((req, res) => {
  const asked = req.url.match(/^\/test\/polls\/([^/?]+)$/);
  if (asked) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(latestFlow.get(decodeURIComponent(asked[1])) ?? { times: [], interval: null }));
    return;
  }
  handle(req, res);
});
process.on('SIGHUP', () => {
  handle = build();
  console.log('keys reloaded');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(config.port, '127.0.0.1', () => console.log(`listening on ${config.issuer}`));
