// A real OAuth 2.0 authorization server (oidc-provider) for tokenward's tests:
// client credentials for agents, RFC 7662 introspection and RFC 7009 revocation
// for the security team's client. Loopback only; all state in memory.
// Usage: node oidc.mjs PORT   (secrets from env: TW_SECURITY_SECRET, TW_AGENT_SECRET)
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
if (!port) {
  console.error('usage: node oidc.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const scopes = ['repo:read', 'repo:write', 'payments:read', 'payments:write', 'deploy:prod'];
const anyClient = { enabled: true, allowedPolicy: async () => true };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'tokenward-security',
      client_secret: process.env.TW_SECURITY_SECRET || 'security-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: scopes.join(' '),
    },
    {
      client_id: 'deploy-bot',
      client_secret: process.env.TW_AGENT_SECRET || 'agent-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: scopes.join(' '),
    },
  ],
  scopes,
  features: {
    clientCredentials: { enabled: true },
    // The security team's client may introspect and revoke any agent's token.
    introspection: anyClient,
    revocation: anyClient,
    devInteractions: { enabled: false },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready on ${issuer}`);
});
