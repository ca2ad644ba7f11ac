/**
 * P5: myproxy-logon round trips against three myproxy-servers, alternating:
 * one with its built-in CA (file key), one with etoken-ca-client as
 * certificate_issuer_program, and the floor of any callout written in Node:
 * a script that reads the request and prints a fixed certificate (the one
 * etoken-ca issued for the same request at warm-up); beside them a bare
 * `node -e 0`.
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
  /** Through the Node callout that prints a fixed certificate. */
  readonly nodeCalloutMs: number;
  readonly nodeMs: number;
}

const LOCAL_USER = 'benchuser';
const USER_DN = '/O=Example/CN=Bench User';

async function logon(server: MyProxyServer, username: string, csrPem: string): Promise<string> {
  const result = await server.logon({ username, hours: 2, timeoutMs: 60_000, csrPem });
  if (result.code !== 0 || !result.certPem) throw new Error(`myproxy-logon failed (${result.code}): ${result.stderr.trim()}`);
  return result.certPem;
}

async function timedLogon(server: MyProxyServer, username: string, csrPem: string): Promise<number> {
  const start = nowMs();
  await logon(server, username, csrPem);
  return nowMs() - start;
}

/** A certificate_issuer_program in Node that does nothing but read the request and print `certPem`. */
function writeFixedCallout(path: string, certPem: string): void {
  const script = `#!${process.execPath}\nprocess.stdin.resume();\nprocess.stdin.on('end', () => process.stdout.write(${JSON.stringify(certPem)}));\n`;
  writeFileSync(path, script, { mode: 0o755 });
}

export async function myproxyRoundTrips(dir: string, etokenConfig: string, csrPem: string, runs: number): Promise<RoundTrips> {
  const ca = await createSoftwareCa(join(dir, 'builtin-ca'), '/O=Example/CN=Built-in CA');
  const mapfilePath = join(dir, 'grid-mapfile');
  writeFileSync(mapfilePath, `"${USER_DN}" ${LOCAL_USER}\n`, { mode: 0o644 });
  const builtIn = await startMyProxy({ builtInCa: { certPath: ca.certPath, keyPath: ca.keyPath, mapfilePath }, maxCertLifetime: 12 });
  const etoken = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: etokenConfig }, maxCertLifetime: 12 });
  const servers = [builtIn, etoken];
  try {
    await logon(builtIn, LOCAL_USER, csrPem);
    const calloutPath = join(dir, 'fixed-callout.cjs');
    writeFixedCallout(calloutPath, await logon(etoken, USER_DN, csrPem));
    const nodeCallout = await startMyProxy({ calloutPath, maxCertLifetime: 12 });
    servers.push(nodeCallout);
    await logon(nodeCallout, USER_DN, csrPem);
    const times = { builtIn: [] as number[], etoken: [] as number[], nodeCallout: [] as number[], node: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.builtIn.push(await timedLogon(builtIn, LOCAL_USER, csrPem));
      times.etoken.push(await timedLogon(etoken, USER_DN, csrPem));
      times.nodeCallout.push(await timedLogon(nodeCallout, USER_DN, csrPem));
      times.node.push(await bareNodeMs());
    }
    return { builtInMs: median(times.builtIn), etokenMs: median(times.etoken), nodeCalloutMs: median(times.nodeCallout), nodeMs: median(times.node) };
  } finally {
    for (const server of servers) await server.stop();
  }
}
