/**
 * P5: myproxy-logon round trips against two myproxy-servers, one with its
 * built-in CA (file key) and one with etoken-ca-client as
 * certificate_issuer_program, alternating, next to a bare `node -e 0`.
 * Every logon sends the same ready-made request (`myproxy-logon -Q`): the
 * RSA key myproxy-logon would otherwise generate takes 20 to 400 ms, the
 * same for both servers, and would drown the difference being measured.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BIN } from '../../../test/helpers/ca-server.js';
import { startMyProxy, type MyProxyServer } from '../../../test/helpers/myproxy.js';
import { createSoftwareCa } from '../../../test/helpers/pki.js';
import { median, nowMs } from '../stats.js';
import { bareNodeMs } from './node-start.js';

export interface RoundTrips {
  readonly builtInMs: number;
  readonly etokenMs: number;
  readonly nodeMs: number;
}

const LOCAL_USER = 'benchuser';
const USER_DN = '/O=Example/CN=Bench User';

async function timedLogon(server: MyProxyServer, username: string, csrPem: string): Promise<number> {
  const start = nowMs();
  const result = await server.logon({ username, hours: 2, timeoutMs: 60_000, csrPem });
  if (result.code !== 0 || !result.certPem) throw new Error(`myproxy-logon failed (${result.code}): ${result.stderr.trim()}`);
  return nowMs() - start;
}

export async function myproxyRoundTrips(dir: string, etokenConfig: string, csrPem: string, runs: number): Promise<RoundTrips> {
  const ca = await createSoftwareCa(join(dir, 'builtin-ca'), '/O=Example/CN=Built-in CA');
  const mapfilePath = join(dir, 'grid-mapfile');
  writeFileSync(mapfilePath, `"${USER_DN}" ${LOCAL_USER}\n`, { mode: 0o644 });
  const builtIn = await startMyProxy({ builtInCa: { certPath: ca.certPath, keyPath: ca.keyPath, mapfilePath }, maxCertLifetime: 12 });
  const etoken = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: etokenConfig }, maxCertLifetime: 12 });
  try {
    await timedLogon(builtIn, LOCAL_USER, csrPem);
    await timedLogon(etoken, USER_DN, csrPem);
    const times = { builtIn: [] as number[], etoken: [] as number[], node: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.builtIn.push(await timedLogon(builtIn, LOCAL_USER, csrPem));
      times.etoken.push(await timedLogon(etoken, USER_DN, csrPem));
      times.node.push(await bareNodeMs());
    }
    return { builtInMs: median(times.builtIn), etokenMs: median(times.etoken), nodeMs: median(times.node) };
  } finally {
    await builtIn.stop();
    await etoken.stop();
  }
}
