/**
 * The Token port on a PKCS#11 module through graphene-pk11. Calls are
 * synchronous: the signer process does nothing else while it waits.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  KeyType,
  Module,
  ObjectClass,
  SessionFlag,
  TokenFlag,
  UserType,
  type Key,
  type Session,
  type SessionObject,
  type Slot,
} from 'graphene-pk11';
import type { Config } from '@etoken-ca/contract/core/config';
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';
import { caKeyTypeOf, ecdsaRawToDer, signatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';
import { tokenError } from './pkcs11-errors.js';
import { publicKeyFromAttributes } from './public-key-object.js';
import { cleanTokenText, selectSlot, type SlotCriteria } from './slot-selection.js';
import { TokenError, type PresenceCheck, type Token } from './token.js';

export interface Pkcs11TokenOptions extends SlotCriteria {
  readonly modulePath: string;
  /** Set in process.env before the module loads (SoftHSM reads SOFTHSM2_CONF). */
  readonly env: Readonly<Record<string, string>>;
  /** CKA_ID of the CA key; null: the public key equal to caPublicKey, whatever its id. */
  readonly keyId: Buffer | null;
  /** The key the token must hold before it may see the PIN. */
  readonly caPublicKey: KeyObject;
}

export function pkcs11OptionsFromConfig(config: Config, caPublicKey: KeyObject): Pkcs11TokenOptions {
  return {
    modulePath: config.pkcs11Module,
    env: config.pkcs11Env,
    label: config.tokenLabel,
    serial: config.tokenSerial,
    slotIndex: config.key.slot,
    keyId: config.key.keyId,
    caPublicKey,
  };
}

/** DigestInfo of a SHA-256 hash without the hash (RFC 8017 9.2, note 1): what CKM_SHA256_RSA_PKCS would sign. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

// PKCS#11 session states of a logged-in user (CKS_RO_USER_FUNCTIONS, CKS_RW_USER_FUNCTIONS).
const USER_SESSION_STATES = new Set([1, 3]);

function attempt<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw tokenError(e, what);
  }
}

function publicKeyOf(object: SessionObject): KeyObject | null {
  const type = object.getAttribute('keyType') as number;
  const attribute = (name: string): Buffer => object.getAttribute(name) as Buffer;
  if (type === KeyType.RSA) return publicKeyFromAttributes({ kind: 'rsa', modulus: attribute('modulus'), publicExponent: attribute('publicExponent') });
  // CKA_EC_PARAMS: graphene only answers it under its older alias, paramsECDSA.
  if (type === KeyType.EC) return publicKeyFromAttributes({ kind: 'ec', params: attribute('paramsECDSA'), point: attribute('pointEC') });
  return null;
}

/** The CKA_ID of the public key object equal to the CA's key; refuses a token without one. */
function findCaKeyId(session: Session, options: Pkcs11TokenOptions): Buffer {
  const template = options.keyId ? { class: ObjectClass.PUBLIC_KEY, id: options.keyId } : { class: ObjectClass.PUBLIC_KEY };
  const objects = session.find(template);
  for (let i = 0; i < objects.length; i++) {
    const object = objects.items(i);
    if (publicKeyOf(object)?.equals(options.caPublicKey)) return object.getAttribute('id') as Buffer;
  }
  const which = options.keyId ? `public key with id ${options.keyId.toString('hex')} equal to` : 'public key of';
  throw new TokenError('wrong-token', `token does not hold the ${which} the CA certificate`);
}

function readInfo(slot: Slot, slotIndex: number): TokenInfo {
  const token = slot.getToken();
  return {
    label: cleanTokenText(token.label),
    serial: cleanTokenText(token.serialNumber),
    slot: slotIndex,
    pinCountLow: Boolean(token.flags & TokenFlag.USER_PIN_COUNT_LOW),
    pinFinalTry: Boolean(token.flags & TokenFlag.USER_PIN_FINAL_TRY),
    pinLocked: Boolean(token.flags & TokenFlag.USER_PIN_LOCKED),
  };
}

/** Loads the module, finds our token and checks it holds the CA key. No PIN is involved yet. */
export function openPkcs11Token(options: Pkcs11TokenOptions): Token {
  Object.assign(process.env, options.env);
  const module = attempt('loading the PKCS#11 module', () => Module.load(options.modulePath));
  attempt('initializing the PKCS#11 module', () => module.initialize());
  try {
    return openOnModule(module, options);
  } catch (e) {
    finalizeQuietly(module);
    throw tokenError(e, 'opening the token');
  }
}

function finalizeQuietly(module: Module): void {
  try {
    module.finalize();
  } catch {
    // the module is being dropped either way
  }
}

function openOnModule(module: Module, options: Pkcs11TokenOptions): Token {
  const slots = attempt('listing slots', () => module.getSlots(true));
  const present = attempt('reading token info', () =>
    Array.from({ length: slots.length }, (_, i) => {
      const token = slots.items(i).getToken();
      return { label: token.label, serial: token.serialNumber };
    }),
  );
  const slotIndex = selectSlot(present, options);
  const slot = slots.items(slotIndex);
  const info = attempt('reading token info', () => readInfo(slot, slotIndex));
  const session = attempt('opening a session', () => slot.open(SessionFlag.SERIAL_SESSION));
  const keyId = attempt('looking for the CA public key', () => findCaKeyId(session, options));
  const algorithm = signatureAlgorithm(caKeyTypeOf(options.caPublicKey));
  let privateKey: Key | null = null;

  return {
    info,
    currentInfo(): TokenInfo {
      return attempt('reading token info', () => readInfo(slot, slotIndex));
    },
    login(pin: string): void {
      attempt('login', () => session.login(pin, UserType.USER));
      const keys = attempt('looking for the CA private key', () => session.find({ class: ObjectClass.PRIVATE_KEY, id: keyId }));
      if (keys.length !== 1) throw new TokenError('failed', `expected one private key with id ${keyId.toString('hex')}, found ${keys.length}`);
      privateKey = keys.items(0).toType<Key>();
    },
    sign(data: Buffer): Buffer {
      const key = privateKey;
      if (!key) throw new TokenError('failed', 'not logged in');
      // Hashed here, the token signs only the digest: modules hash CKM_SHA256_RSA_PKCS input in software
      // anyway, far slower than this process for a large CRL, a USB token slower still, and
      // SoftHSM has no CKM_ECDSA_SHA256. CKM_RSA_PKCS over the DigestInfo is the same signature, over the same bytes.
      const digest = createHash(algorithm.hash).update(data).digest();
      return attempt('signing', () => {
        if (algorithm.keyType === 'rsa') return session.createSign('RSA_PKCS', key).once(Buffer.concat([SHA256_DIGEST_INFO, digest]));
        return ecdsaRawToDer(session.createSign('ECDSA', key).once(digest));
      });
    },
    checkPresence(): PresenceCheck {
      try {
        const serial = cleanTokenText(slot.getToken().serialNumber);
        if (serial !== info.serial) return { ok: false, reason: `token serial changed to ${serial}` };
        const state = session.lib.C_GetSessionInfo(session.handle).state;
        if (privateKey && !USER_SESSION_STATES.has(state)) return { ok: false, reason: 'session is no longer logged in' };
        return { ok: true };
      } catch (e) {
        return { ok: false, reason: tokenError(e, 'presence check').message };
      }
    },
    close(): void {
      try {
        if (privateKey) session.logout();
        session.close();
      } catch {
        // a gone token cannot be logged out of
      }
      finalizeQuietly(module);
    },
  };
}
