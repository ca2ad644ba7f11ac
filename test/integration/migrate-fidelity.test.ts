/**
 * Migration fidelity: an `openssl ca` directory made by openssl ca itself
 * (31 certificates, subjects with UTF-8, commas, apostrophes and a
 * multi-valued RDN; 5 expired; revoked with keyCompromise, superseded, and
 * with a key and a CA compromise time; one certificate only in newcerts/;
 * two -gencrl runs) is imported. Every row of `revoke-cert --list --json`
 * must say what openssl ca's own records say of the original (index.txt,
 * `openssl ca -status`, `openssl x509 -nameopt compat` for the one index.txt
 * does not list), and every entry of the first CRL the token signs must say
 * what `openssl crl -text` says of openssl's last one: revocation date,
 * reason and invalidity date. The compromise time survives into index.txt
 * in openssl's spelling, and a new revocation can carry one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKE_BIN, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { issueWithOpenssl, keyOntoToken, makeOldCa, openssl, writeMigratedConfig, type OldCa } from '../helpers/old-openssl-ca.js';

const PIN = '48151623';
const KEY_COMPROMISED = '20261120083015Z';
const CA_COMPROMISED = '20261121000000Z';

let work: string;
let ca: OldCa;
let fixture: ServerFixture;
let server: RunningServer | undefined;
/** The index.txt line openssl wrote for the certificate that is then left only in newcerts/. */
let unlistedLine: string;
let unlistedSerial: string;

interface Row {
  serial: string;
  subject: string;
  state: string;
  notAfter: string;
  revokedAt: string | null;
  reason: string | null;
  compromisedAt: string | null;
}

const SUBJECTS = [
  "/DC=org/O=Grid/CN=Jürgen Müller, Jr.",
  "/DC=org/O=Grid/CN=Patrick O'Brien",
  '/DC=org/O=Grid/OU=Physics, Chemistry/CN=Ana Pérez',
  '/DC=org/O=Grid/CN=host+UID=svc1',
  '/DC=org/O=Grid/CN=Zoë Ångström/emailAddress=zoe@example.org',
  '/DC=org/O=Grid/CN=Łukasz Żółć',
  '/DC=org/O=Grid/CN=plain ascii',
];

const subjectFor = (i: number): string => `${SUBJECTS[i % SUBJECTS.length]!} ${i}`;

function ossl(...args: string[]): string {
  return openssl(['ca', '-batch', '-config', ca.config, ...args]);
}

/** 31 certificates, their fates as above. */
function makeOpensslCa(): void {
  ca = makeOldCa(work);
  const files: string[] = [];
  for (let i = 0; i < 31; i++) {
    const expired = i >= 25 && i < 30 ? ['-startdate', `2020010${i - 24}000000Z`, '-enddate', `2020020${i - 24}000000Z`] : [];
    files.push(issueWithOpenssl(ca, `c${i}`, subjectFor(i), expired).file);
  }
  ossl('-revoke', files[1]!, '-crl_reason', 'keyCompromise');
  ossl('-revoke', files[2]!, '-crl_reason', 'superseded');
  ossl('-gencrl', '-out', join(ca.dir, 'crl-1.pem'));
  ossl('-revoke', files[3]!, '-crl_compromise', KEY_COMPROMISED);
  ossl('-revoke', files[4]!, '-crl_CA_compromise', CA_COMPROMISED);
  ossl('-gencrl', '-out', join(ca.dir, 'crl-2.pem'));
  ossl('-updatedb');
  // The certificate of subject 0 written to newcerts/ and never to index.txt (as after a crash in between).
  const index = join(ca.dir, 'index.txt');
  const lines = readFileSync(index, 'utf8').split('\n');
  unlistedSerial = openssl(['x509', '-in', files[21]!, '-noout', '-serial']).replace('serial=', '').trim();
  unlistedLine = lines.find((l) => l.split('\t')[3] === unlistedSerial)!;
  writeFileSync(index, lines.filter((l) => l !== unlistedLine).join('\n'));
}

/** A UTCTime (before 2050) or GeneralizedTime of index.txt as ISO 8601. */
function isoOf(t: string): string {
  const full = t.length === 13 ? `20${t}` : t;
  return full.replace(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6.000Z');
}

/** index.txt's revocation field: time[,reason[,compromise time]] with openssl's reason spellings. */
function revocationOf(field: string): { revokedAt: string | null; reason: string | null; compromisedAt: string | null } {
  if (field === '') return { revokedAt: null, reason: null, compromisedAt: null };
  const [when, reason, compromised] = field.split(',');
  const iso = (t: string | undefined): string | null => (t ? isoOf(t) : null);
  const named = reason === 'keyTime' ? 'keyCompromise' : reason === 'CAkeyTime' ? 'CACompromise' : (reason ?? 'unspecified');
  return { revokedAt: iso(when), reason: named, compromisedAt: iso(compromised) };
}

function revokeList(...args: string[]): Row[] {
  return JSON.parse(execFileSync(REVOKE_BIN, ['--list', '--json', '--config', fixture.configPath, ...args], { encoding: 'utf8' }));
}

/** Revoked entries of a CRL as openssl crl -text prints them: serial -> the lines under it. */
function crlEntries(file: string): Map<string, string> {
  const text = openssl(['crl', '-in', file, '-noout', '-text', '-CAfile', ca.caCert]);
  const entries = new Map<string, string>();
  // The last entry runs into the CRL's signature: the entries end where it begins.
  const revoked = text.split(/\n\s*Signature Algorithm: /).slice(0, 2).join('\n');
  for (const block of revoked.split(/\n\s*Serial Number: /).slice(1)) {
    const [serial, ...rest] = block.split('\n');
    entries.set(serial!.trim(), rest.filter((l) => /^\s{8}/.test(l)).map((l) => l.trim()).join(' | '));
  }
  return entries;
}

beforeAll(() => {
  work = mkdtempSync('/tmp/etoken-migrate-fidelity-');
  chmodSync(work, 0o755);
  makeOpensslCa();
  fixture = writeMigratedConfig(ca, keyOntoToken(ca, PIN), '/DC=org/O=Grid%s');
  const imported = spawnSync(SERVER_BIN, ['import-openssl-ca', ca.dir, '--config', fixture.configPath], { encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`import-openssl-ca exited ${imported.status}: ${imported.stderr}`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('import-openssl-ca keeps what openssl ca recorded', () => {
  it('lists every certificate as openssl ca records it: subject, state, expiry, revocation time, reason and compromise time', () => {
    const rows = new Map(revokeList().map((r) => [r.serial, r]));
    const listed = readFileSync(join(ca.dir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
    expect(rows.size).toBe(listed.length + 1);
    for (const line of listed) {
      const [status, notAfter, revocation, serial, , subject] = line.split('\t') as [string, string, string, string, string, string];
      const row = rows.get(serial);
      expect(row, serial).toBeDefined();
      expect({ subject: row!.subject, state: row!.state, notAfter: row!.notAfter, revokedAt: row!.revokedAt, reason: row!.reason, compromisedAt: row!.compromisedAt }).toEqual({
        subject,
        state: { V: 'valid', E: 'expired', R: 'revoked' }[status],
        notAfter: isoOf(notAfter),
        ...revocationOf(revocation),
      });
      const said = spawnSync('openssl', ['ca', '-config', ca.config, '-status', serial], { encoding: 'utf8' });
      expect(said.stdout + said.stderr).toContain(`${serial}=${{ V: 'Valid', E: 'Expired', R: 'Revoked' }[status]}`);
    }
    const compromised = [...rows.values()].filter((r) => r.compromisedAt !== null);
    expect(compromised.map((r) => [r.reason, r.compromisedAt]).sort()).toEqual([
      ['CACompromise', '2026-11-21T00:00:00.000Z'],
      ['keyCompromise', '2026-11-20T08:30:15.000Z'],
    ]);
    expect([...rows.values()].filter((r) => r.state === 'expired')).toHaveLength(5);
  });

  it('spells the subject of the certificate found only in newcerts/ as openssl does, so filters and counts find it', () => {
    const row = revokeList().find((r) => r.serial === unlistedSerial)!;
    const compat = openssl(['x509', '-in', join(work, 'c21.pem'), '-noout', '-subject', '-nameopt', 'compat']).replace(/^subject=/, '').trim();
    expect(row.subject).toBe(compat);
    expect(row.subject).toBe(unlistedLine.split('\t')[5]);
    expect(row.subject).toContain('J\\xC3\\xBCrgen M\\xC3\\xBCller, Jr.');
    // A filter typed as the operator reads the name finds it with the other certificate of that name.
    expect(revokeList('--subject', 'Jürgen Müller, Jr. 21').map((r) => r.serial)).toEqual([unlistedSerial]);
    expect(revokeList('--subject', 'Müller, Jr.')).toHaveLength(5);
  });

  it('writes the compromise times to index.txt in openssl\'s spelling, which openssl ca reads back', async () => {
    server = await startServer(fixture, PIN);
    await server.waitFor('crl.issued');
    const index = readFileSync(join(fixture.caDir, 'index.txt'), 'utf8');
    expect(index).toMatch(new RegExp(`\\t\\d{12}Z,keyTime,${KEY_COMPROMISED}\\t`));
    expect(index).toMatch(new RegExp(`\\t\\d{12}Z,CAkeyTime,${CA_COMPROMISED}\\t`));
    const cnf = join(work, 'new.cnf');
    // openssl's own CRL from the product's index.txt (its CRL number file left out: the product keeps its own).
    writeFileSync(cnf, readFileSync(ca.config, 'utf8').replace(`dir = ${ca.dir}`, `dir = ${fixture.caDir}`).replace(/^crlnumber = .*\n/m, ''));
    const gencrl = spawnSync('openssl', ['ca', '-config', cnf, '-gencrl', '-out', join(work, 'again.pem')], { encoding: 'utf8' });
    expect(gencrl.status, gencrl.stderr).toBe(0);
    expect(crlEntries(join(work, 'again.pem'))).toEqual(crlEntries(join(ca.dir, 'crl-2.pem')));
  });

  it('signs a CRL whose every entry says what openssl\'s last CRL says: revocation date, reason, invalidity date', () => {
    const ours = crlEntries(join(work, 'crl', 'crl.pem'));
    const theirs = crlEntries(join(ca.dir, 'crl-2.pem'));
    expect(ours.size).toBe(4);
    expect(ours).toEqual(theirs);
    expect([...ours.values()].filter((e) => e.includes('Invalidity Date'))).toHaveLength(2);
  });

  it('takes a compromise time for a new revocation, for keyCompromise and CACompromise only', async () => {
    const rows = revokeList('--state', 'valid');
    const [first, second] = rows.map((r) => r.serial);
    const refused = spawnSync(REVOKE_BIN, [first!, '--reason', 'superseded', '--compromise-time', '2026-12-01T10:00:00Z', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(refused.status).toBe(64);
    expect(refused.stderr).toMatch(/--compromise-time.*keyCompromise or CACompromise/);
    const future = spawnSync(REVOKE_BIN, [first!, '--reason', 'keyCompromise', '--compromise-time', '2099-01-01T00:00:00Z', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(future.status).toBe(64);
    expect(future.stderr).toMatch(/in the future/);
    const done = spawnSync(REVOKE_BIN, [first!, second!, '--reason', 'keyCompromise', '--compromise-time', '2026-12-01T10:00:00Z', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(done.status, done.stderr).toBe(0);
    const after = new Map(revokeList().map((r) => [r.serial, r]));
    expect(after.get(first!)).toMatchObject({ state: 'revoked', reason: 'keyCompromise', compromisedAt: '2026-12-01T10:00:00.000Z' });
    expect(crlEntries(join(work, 'crl', 'crl.pem')).get(first!)).toMatch(/Key Compromise \| Invalidity Date: \| Dec {2}1 10:00:00 2026 GMT/);
  });
});
