// An OpenID Connect provider for the SSO tests: node-oidc-provider (OpenID Certified),
// on loopback, with its development sign-in pages (any login name is the account id).
// Configured by one JSON argument: {port, issuer, clients, accounts, idTokenAlgs,
// idTokenTtl (seconds)}.
// `accounts` maps an account id to the claims the provider asserts for it.
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);

const provider = new Provider(config.issuer, {
  clients: config.clients,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'groups', 'role'],
  },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  enabledJWA: { idTokenSigningAlgValues: config.idTokenAlgs || ['RS256'] },
  cookies: { keys: ['artifacts-test-idp'] },
  features: { devInteractions: { enabled: true } },
  ttl: { IdToken: config.idTokenTtl || 3600 },
  clockTolerance: 0,
});
provider.proxy = false;

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
