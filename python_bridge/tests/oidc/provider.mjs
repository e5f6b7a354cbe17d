// A real OpenID provider for the o16n tests: node-oidc-provider (OpenID certified) on loopback.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {"issuer", "port", "keysFile", "clients": [{"client_id", "client_secret", "claims": {...}}],
//          "resources": {"<indicator>": {"audience", "alg", "ttl"}}, "defaultResource"}
// keysFile holds the private JWKS ({"keys": [...]}). SIGHUP re-reads it and swaps the provider,
// which is how the tests rotate the signing keys while o16n keeps running.
// Tokens come from the client-credentials grant as JWT access tokens, one audience per resource
// indicator, signed with the resource's algorithm; a client's "claims" are added to its tokens.
import fs from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function build() {
  const jwks = JSON.parse(fs.readFileSync(config.keysFile, 'utf8'));
  const byId = new Map(config.clients.map((c) => [c.client_id, c]));
  const provider = new Provider(config.issuer, {
    jwks,
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    features: {
      devInteractions: { enabled: false },
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
    extraTokenClaims: (_ctx, token) => byId.get(token.clientId)?.claims,
  });
  return provider.callback();
}

let handle = build();
const server = http.createServer((req, res) => handle(req, res));
process.on('SIGHUP', () => {
  handle = build();
  console.log('keys reloaded');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(config.port, '127.0.0.1', () => console.log(`listening on ${config.issuer}`));
