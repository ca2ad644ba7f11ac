/**
 * The smart-card test module (test/pkcs11-smartcard) on its own: each
 * behaviour through real PKCS#11 calls, in this process (graphene-pk11) and in
 * pkcs11-tool processes run as causer, the user the product loads it as.
 */
import { spawn } from 'node:child_process';
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module, ObjectClass, SessionFlag, SlotFlag, TokenFlag, UserType, type Key, type Session, type Slot } from 'graphene-pk11';
import * as pkcs11 from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmartcardControl, smartcardModule, type SmartcardControl } from '../helpers/smartcard.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { isRoot, systemUser, type SystemUser } from '../helpers/users.js';

// PKCS#11 session state of a read-only session nobody is logged in to (pkcs11js has no typing for it).
const CKS_RO_PUBLIC_SESSION = 0;
const PIN_FLAGS = { COUNT_LOW: TokenFlag.USER_PIN_COUNT_LOW, FINAL_TRY: TokenFlag.USER_PIN_FINAL_TRY, LOCKED: TokenFlag.USER_PIN_LOCKED };

interface ToolRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

describe('smart-card test module', () => {
  let modulePath: string;
  let token: TestToken;
  let caKey: KeyObject;
  let causer: SystemUser;
  let module: Module;

  beforeAll(() => {
    if (!isRoot()) throw new Error('the smart-card module test runs as root (it runs pkcs11-tool as causer)');
    causer = systemUser('causer');
    modulePath = smartcardModule();
    token = createTestToken({ label: 'smartcard-module', keyType: 'rsa', owner: causer.name });
    caKey = new X509Certificate(token.caCertPem).publicKey;
    module = Module.load(modulePath, 'smart-card test module');
  });

  afterAll(() => {
    token?.cleanup();
  });

  /** Runs `test` with a fresh control directory and the module initialized on it in this process. */
  async function withCard(test: (card: SmartcardControl) => Promise<void> | void): Promise<void> {
    const card = createSmartcardControl(causer.name);
    // C_Initialize reads the environment.
    Object.assign(process.env, card.moduleEnv(token));
    module.initialize();
    try {
      await test(card);
    } finally {
      module.finalize();
      card.cleanup();
    }
  }

  /** The CKR_ name a call fails with, or CKR_OK. */
  function rvOf(call: () => unknown): string {
    try {
      call();
      return 'CKR_OK';
    } catch (e) {
      return nameOf(e);
    }
  }

  function nameOf(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return /\bCKR_[A-Z_]+\b/.exec(text)?.[0] ?? text;
  }

  function slotId(slot: Slot): number {
    return Number(slot.handle.readBigUInt64LE());
  }

  function onlySlot(): Slot {
    const slots = module.getSlots(true);
    expect(slots.length).toBe(1);
    return slots.items(0);
  }

  function openSession(slot: Slot, readWrite = false): Session {
    return slot.open(SessionFlag.SERIAL_SESSION | (readWrite ? SessionFlag.RW_SESSION : 0));
  }

  function caPrivateKey(session: Session): Key {
    const keys = session.find({ class: ObjectClass.PRIVATE_KEY, id: Buffer.from(token.caKeyId, 'hex') });
    expect(keys.length).toBe(1);
    return keys.items(0).toType<Key>();
  }

  function sign(session: Session, key: Key, data: Buffer): Buffer {
    return session.createSign('SHA256_RSA_PKCS', key).once(data);
  }

  function pinFlags(slot: Slot): string[] {
    const flags = slot.getToken().flags;
    return Object.entries(PIN_FLAGS)
      .filter(([, flag]) => (flags & flag) !== 0)
      .map(([name]) => name);
  }

  /** pkcs11-tool on the module as causer, with only the module's environment. */
  function pkcs11Tool(card: SmartcardControl, args: readonly string[], input: Buffer = Buffer.alloc(0)): Promise<ToolRun> {
    const child = spawn('pkcs11-tool', ['--module', modulePath, ...args], {
      uid: causer.uid,
      gid: causer.gid,
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', ...card.moduleEnv(token) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(input);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    });
  }

  function signAsCauser(card: SmartcardControl, data: Buffer): Promise<ToolRun> {
    return pkcs11Tool(card, ['--login', '--pin', token.pin, '--sign', '--mechanism', 'SHA256-RSA-PKCS', '--id', token.caKeyId], data);
  }

  it('spends the latency on every signature and lets processes sign only one at a time', async () => {
    await withCard(async (card) => {
      const latencyMs = 300;
      card.setSignLatency(latencyMs);
      const data = Buffer.from('three processes at once');
      const started = Date.now();
      const runs = await Promise.all([1, 2, 3].map(() => signAsCauser(card, data)));
      const elapsedMs = Date.now() - started;
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        expect(verify('sha256', data, caKey, run.stdout)).toBe(true);
      }

      const log = card.signatures().sort((a, b) => a.startMs - b.startMs);
      expect(log.map((record) => record.rv)).toEqual([pkcs11.CKR_OK, pkcs11.CKR_OK, pkcs11.CKR_OK]);
      expect(new Set(log.map((record) => record.pid)).size).toBe(3);
      for (const record of log) expect(record.endMs - record.startMs).toBeGreaterThanOrEqual(latencyMs - 0.01);
      for (let i = 1; i < log.length; i++) expect(log[i]!.startMs).toBeGreaterThanOrEqual(log[i - 1]!.endMs);
      // Started together, so only waiting for each other makes them take this long.
      expect(elapsedMs).toBeGreaterThanOrEqual(3 * latencyMs);
    });
  });

  it('spends the latency once per multi-part signature, in C_SignFinal', async () => {
    await withCard((card) => {
      card.setSignLatency(200);
      const session = openSession(onlySlot());
      session.login(token.pin);
      const signer = session.createSign('SHA256_RSA_PKCS', caPrivateKey(session));
      signer.update(Buffer.from('multi-'));
      signer.update(Buffer.from('part'));
      const signature = signer.final();
      expect(verify('sha256', Buffer.from('multi-part'), caKey, signature)).toBe(true);

      const log = card.signatures();
      expect(log).toHaveLength(1);
      expect(log[0]!.endMs - log[0]!.startMs).toBeGreaterThanOrEqual(200 - 0.01);
    });
  });

  it('adds a uniform jitter to the latency', async () => {
    await withCard((card) => {
      card.setSignLatency(40, 100);
      const session = openSession(onlySlot());
      session.login(token.pin);
      const key = caPrivateKey(session);
      for (let i = 0; i < 8; i++) sign(session, key, Buffer.from(`jitter ${i}`));

      const durations = card.signatures().map((record) => record.endMs - record.startMs);
      expect(durations).toHaveLength(8);
      for (const duration of durations) {
        expect(duration).toBeGreaterThanOrEqual(40 - 0.01);
        expect(duration).toBeLessThan(40 + 100 + 50);
      }
      expect(Math.max(...durations) - Math.min(...durations)).toBeGreaterThan(5);
    });
  });

  it('counts wrong user PINs for all processes, locks after the third, and the SO unlocks with C_InitPIN', async () => {
    await withCard(async (card) => {
      card.setSignLatency(0);
      let slot = onlySlot();
      expect(pinFlags(slot)).toEqual([]);
      const session = openSession(slot);
      expect(rvOf(() => session.login('11111111'))).toBe('CKR_PIN_INCORRECT');
      expect(pinFlags(slot)).toEqual(['COUNT_LOW']);

      const otherProcess = await pkcs11Tool(card, ['--login', '--pin', '22222222', '--list-objects']);
      expect(otherProcess.stderr).toContain('CKR_PIN_INCORRECT');
      expect(pinFlags(slot)).toEqual(['COUNT_LOW', 'FINAL_TRY']);

      expect(rvOf(() => session.login('33333333'))).toBe('CKR_PIN_INCORRECT');
      expect(pinFlags(slot)).toEqual(['LOCKED']);
      expect(rvOf(() => session.login(token.pin))).toBe('CKR_PIN_LOCKED');
      session.close();

      // The count is the token's: a restarted module and another process find it locked.
      module.finalize();
      module.initialize();
      slot = onlySlot();
      expect(pinFlags(slot)).toEqual(['LOCKED']);
      const lockedOut = await signAsCauser(card, Buffer.from('locked'));
      expect(lockedOut.code).not.toBe(0);
      expect(lockedOut.stderr).toContain('CKR_PIN_LOCKED');

      const so = openSession(slot, true);
      so.login(token.soPin, UserType.SO);
      so.initPin(token.pin);
      so.logout();
      so.close();
      expect(pinFlags(slot)).toEqual([]);
      const user = openSession(slot);
      user.login(token.pin);
      expect(sign(user, caPrivateKey(user), Buffer.from('unlocked'))).toHaveLength(256);
    });
  });

  it('forgets wrong PINs after a right one, takes its maximum from the control file, and can be reset from outside', async () => {
    await withCard((card) => {
      const slot = onlySlot();
      const session = openSession(slot);
      expect(rvOf(() => session.login('11111111'))).toBe('CKR_PIN_INCORRECT');
      expect(pinFlags(slot)).toEqual(['COUNT_LOW']);
      session.login(token.pin);
      expect(pinFlags(slot)).toEqual([]);
      session.logout();

      card.setMaxPinTries(5);
      const flagsAfterEachTry = Array.from({ length: 5 }, () => {
        expect(rvOf(() => session.login('11111111'))).toBe('CKR_PIN_INCORRECT');
        return pinFlags(slot);
      });
      expect(flagsAfterEachTry).toEqual([['COUNT_LOW'], ['COUNT_LOW'], ['COUNT_LOW'], ['COUNT_LOW', 'FINAL_TRY'], ['LOCKED']]);
      expect(rvOf(() => session.login(token.pin))).toBe('CKR_PIN_LOCKED');

      card.resetPinCounter();
      expect(pinFlags(slot)).toEqual([]);
      session.login(token.pin);
    });
  });

  it('fails a C_Sign in flight with CKR_DEVICE_REMOVED when the token is pulled, and then shows no token', async () => {
    await withCard(async (card) => {
      const latencyMs = 1500;
      card.setSignLatency(latencyMs);
      const slot = onlySlot();
      const session = openSession(slot);
      session.login(token.pin);
      const key = caPrivateKey(session);

      const started = Date.now();
      // The async form runs C_Sign on a libuv thread, which sleeps the latency holding the token.
      const inFlight = new Promise<string>((resolve) => {
        session.createSign('SHA256_RSA_PKCS', key).once(Buffer.from('pulled'), (error) => resolve(error ? nameOf(error) : 'CKR_OK'));
      });
      await sleep(300);
      card.removeToken();
      expect(await inFlight).toBe('CKR_DEVICE_REMOVED');
      // Failed at the end of its latency, not at its start.
      expect(Date.now() - started).toBeGreaterThanOrEqual(latencyMs - 10);
      expect(card.signatures()).toMatchObject([{ pid: process.pid, rv: pkcs11.CKR_DEVICE_REMOVED }]);

      expect(module.getSlots(true).length).toBe(0);
      const readers = module.getSlots(false);
      expect(readers.length).toBe(1);
      expect(slotId(readers.items(0))).toBe(slotId(slot));
      expect(readers.items(0).flags & SlotFlag.TOKEN_PRESENT).toBe(0);
      expect(rvOf(() => slot.getToken())).toBe('CKR_TOKEN_NOT_PRESENT');
      expect(rvOf(() => slot.open(SessionFlag.SERIAL_SESSION))).toBe('CKR_TOKEN_NOT_PRESENT');
      expect(rvOf(() => session.createSign('SHA256_RSA_PKCS', key))).toBe('CKR_DEVICE_REMOVED');
      expect(rvOf(() => session.find({ class: ObjectClass.PRIVATE_KEY }))).toBe('CKR_DEVICE_REMOVED');
      session.close();
    });
  });

  it('re-inserts the token under a new slot id, with the sessions and the login from before gone', async () => {
    await withCard(async (card) => {
      card.setSignLatency(0);
      const oldSlot = onlySlot();
      const oldSession = openSession(oldSlot);
      oldSession.login(token.pin);

      // No PKCS#11 call sees the token out: the module must still notice.
      card.removeToken();
      card.insertToken();

      const newSlot = onlySlot();
      expect(slotId(newSlot)).not.toBe(slotId(oldSlot));
      expect(rvOf(() => oldSession.lib.C_GetSessionInfo(oldSession.handle))).toBe('CKR_SESSION_HANDLE_INVALID');
      expect(rvOf(() => caPrivateKey(oldSession))).toBe('CKR_SESSION_HANDLE_INVALID');
      expect(rvOf(() => oldSlot.getToken())).toBe('CKR_SLOT_ID_INVALID');

      const session = openSession(newSlot);
      const info = session.lib.C_GetSessionInfo(session.handle);
      expect(info.state).toBe(CKS_RO_PUBLIC_SESSION);
      expect(Number(info.slotID.readBigUInt64LE())).toBe(slotId(newSlot));
      expect(session.find({ class: ObjectClass.PRIVATE_KEY }).length).toBe(0);
      session.login(token.pin);
      const data = Buffer.from('after re-insertion');
      expect(verify('sha256', data, caKey, sign(session, caPrivateKey(session), data))).toBe(true);

      const otherProcess = await pkcs11Tool(card, ['--list-slots']);
      expect(otherProcess.code, otherProcess.stderr).toBe(0);
      expect(otherProcess.stdout.toString()).toContain(`(0x${slotId(newSlot).toString(16)})`);
    });
  });

  it('answers C_WaitForSlotEvent with CKR_FUNCTION_NOT_SUPPORTED, blocking or not', async () => {
    await withCard(() => {
      for (const flags of [0, pkcs11.CKF_DONT_BLOCK]) {
        expect(rvOf(() => module.lib.C_WaitForSlotEvent(flags))).toBe('CKR_FUNCTION_NOT_SUPPORTED');
      }
    });
  });

  it('fails injected signatures with CKR_DEVICE_ERROR and stays present and usable', async () => {
    await withCard((card) => {
      card.setSignLatency(0);
      const session = openSession(onlySlot());
      session.login(token.pin);
      const key = caPrivateKey(session);
      const signOnce = (): string => rvOf(() => sign(session, key, Buffer.from('device error')));

      card.injectDeviceErrors(2);
      expect([signOnce(), signOnce(), signOnce()]).toEqual(['CKR_DEVICE_ERROR', 'CKR_DEVICE_ERROR', 'CKR_OK']);
      card.injectDeviceErrors(1);
      expect([signOnce(), signOnce()]).toEqual(['CKR_DEVICE_ERROR', 'CKR_OK']);
      card.setDeviceErrorRate(1);
      expect([signOnce(), signOnce()]).toEqual(['CKR_DEVICE_ERROR', 'CKR_DEVICE_ERROR']);
      card.setDeviceErrorRate(0);
      expect(signOnce()).toBe('CKR_OK');

      const { CKR_OK: ok, CKR_DEVICE_ERROR: error } = pkcs11;
      expect(card.signatures().map((record) => record.rv)).toEqual([error, error, ok, error, ok, error, error, ok]);
      expect(module.getSlots(true).length).toBe(1);
    });
  });
});
