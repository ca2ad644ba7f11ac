import { describe, expect, it } from 'vitest';
import { whyNotServer, type ProcessFacts } from './server-process.js';

const started = 1_700_000_000_000;
const server: ProcessFacts = { exe: '/usr/bin/node', argv: ['node', '/usr/local/sbin/etoken-ca-server', '--config', '/etc/x'], uid: 0, startedAt: started };

describe('is the pid file process the server', () => {
  it('accepts the server, by its bin or its script path', () => {
    expect(whyNotServer(server, started + 800)).toBeNull();
    expect(whyNotServer({ ...server, exe: '/opt/node20/bin/node20', argv: ['node', '/x/packages/ca-server/bin/etoken-ca-server.js'] }, started + 1)).toBeNull();
  });

  it('refuses anything else, and a pid file older than the process', () => {
    expect(whyNotServer({ ...server, exe: '/usr/bin/sleep', argv: ['sleep', '60'] }, started + 1)).toMatch(/not node/);
    expect(whyNotServer({ ...server, argv: ['node', '/srv/app.js', 'etoken-ca-server'] }, started + 1)).toMatch(/is not etoken-ca-server/);
    expect(whyNotServer({ ...server, uid: 1000 }, started + 1)).toMatch(/root/);
    expect(whyNotServer(server, started - 60_000)).toMatch(/stale/);
  });
});
