import { describe, expect, it } from 'vitest';
import { checkPrefix, dropInText, manifest, relocateSysconfig, relocateUnit, wrapperScript } from './manifest.js';

describe('install manifest', () => {
  it('puts everything under the prefix, and at the standard places without one', () => {
    const plain = manifest('');
    expect(plain.programs.map((p) => p.path)).toEqual(['/usr/local/sbin/etoken-ca-server', '/usr/local/sbin/revoke-cert', '/usr/local/bin/etoken-ca-client', '/usr/local/sbin/etoken-ca-scep']);
    expect(plain.scepUnitFile).toBe('/etc/systemd/system/etoken-ca-scep.service');
    expect(plain.dropInFile).toBe('/etc/systemd/system/myproxy-server.service.d/etoken-ca.conf');
    const moved = manifest('/opt/p');
    expect(moved.codeDir).toBe('/opt/p/usr/local/lib/etoken-ca');
    expect(dropInText(moved)).toContain('Environment=ETOKEN_CA_CONFIG=/opt/p/etc/sysconfig/etoken-ca\n');
  });

  it('writes wrappers that run a fixed node on the installed script, with the installed config as default', () => {
    const m = manifest('/opt/p');
    const text = wrapperScript(m, m.programs[2]!, '/usr/bin/node');
    expect(text).toContain('ETOKEN_CA_CONFIG="${ETOKEN_CA_CONFIG:-/opt/p/etc/sysconfig/etoken-ca}"');
    expect(text).toContain('exec /usr/bin/node --inspect-port=192.0.2.1:9229 /opt/p/usr/local/lib/etoken-ca/node_modules/@etoken-ca/ca-client/bin/etoken-ca-client.js "$@"');
  });

  it('gives every program the runtime guard its shebang gives node', () => {
    const m = manifest('');
    expect(wrapperScript(m, m.programs[0]!, '/usr/bin/node')).toContain(
      'exec /usr/bin/node --inspect-port=192.0.2.1:9229 /usr/local/lib/etoken-ca/node_modules/@etoken-ca/ca-server/bin/etoken-ca-server.js "$@"',
    );
    for (const program of m.programs) expect(wrapperScript(m, program, '/usr/bin/node')).toContain('/usr/bin/node --inspect-port=192.0.2.1:9229 ');
  });

  it('ignores SIGUSR1, SIGUSR2 and SIGHUP from the wrapper\'s first command, before node runs', () => {
    const m = manifest('');
    for (const program of m.programs) expect(wrapperScript(m, program, '/usr/bin/node').split('\n').filter((l) => l !== '' && !l.startsWith('#'))[0]).toBe("trap '' USR1 USR2 HUP");
  });

  it('starts every program without the extra CA certificates Node would read at each start', () => {
    const m = manifest('');
    for (const program of m.programs) expect(wrapperScript(m, program, '/usr/bin/node')).toMatch(/^unset NODE_EXTRA_CA_CERTS\nexec /m);
  });

  it('moves the path defaults of the sysconfig file and the unit, and nothing else', () => {
    const sysconfig = '#CA_DIR=/var/lib/etoken-ca\n#PIN_TTY=/dev/tty8\n#CRL_DIR=/elsewhere\n';
    expect(relocateSysconfig(sysconfig, '/p')).toBe('CA_DIR=/p/var/lib/etoken-ca\n#PIN_TTY=/dev/tty8\n#CRL_DIR=/elsewhere\n');
    expect(relocateSysconfig(sysconfig, '')).toBe(sysconfig);
    const unit = 'ExecStart=/usr/local/sbin/etoken-ca-server\nTTYPath=/dev/tty8\nReadWritePaths=/var/lib/etoken-ca /var/spool/etoken-ca /run\n';
    expect(relocateUnit(unit, '/p')).toBe('ExecStart=/p/usr/local/sbin/etoken-ca-server\nTTYPath=/dev/tty8\nReadWritePaths=/p/var/lib/etoken-ca /p/var/spool/etoken-ca /p/run\n');
    const scepUnit = 'ExecStart=/usr/local/sbin/etoken-ca-scep\nReadWritePaths=/var/spool/etoken-ca-scep\n';
    expect(relocateUnit(scepUnit, '/p')).toBe('ExecStart=/p/usr/local/sbin/etoken-ca-scep\nReadWritePaths=/p/var/spool/etoken-ca-scep\n');
  });

  it('accepts only plain absolute prefixes', () => {
    expect(checkPrefix('')).toBeNull();
    expect(checkPrefix('/tmp/x-1.2')).toBeNull();
    for (const bad of ['relative', '/a b', '/a/../b', '/a;rm', '/a/$(x)']) expect(checkPrefix(bad)).not.toBeNull();
  });
});
