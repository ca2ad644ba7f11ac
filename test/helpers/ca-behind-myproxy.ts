/** The whole chain for end-to-end tests: a SoftHSM token, etoken-ca-server, and myproxy-server calling etoken-ca-client. */
import { CLIENT_BIN, makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from './ca-server.js';
import { startMyProxy, type MyProxyServer } from './myproxy.js';
import { createTestToken, type TestToken } from './softhsm.js';

export interface CaBehindMyProxy {
  readonly token: TestToken;
  readonly fixture: ServerFixture;
  readonly server: RunningServer;
  readonly myproxy: MyProxyServer;
  stop(): Promise<void>;
}

export async function startCaBehindMyProxy(label: string): Promise<CaBehindMyProxy> {
  const token = createTestToken({ label, keyType: 'rsa', owner: 'causer' });
  const fixture = makeServerFixture(token);
  const server = await startServer(fixture, token.pin);
  const myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath }, maxCertLifetime: 12 });
  return {
    token,
    fixture,
    server,
    myproxy,
    async stop() {
      await myproxy.stop();
      await server.stop();
      token.cleanup();
      removeFixture(fixture);
    },
  };
}
