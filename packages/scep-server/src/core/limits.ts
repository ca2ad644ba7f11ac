/**
 * Bounds on everything a client sends. SCEP requests from real clients are a
 * few kilobytes (scepclient: about 3 KiB; certmonger with a chain: under
 * 16 KiB); the bounds leave room for long SAN lists, not for abuse.
 */
export const MAX_PKI_MESSAGE_BYTES = 64 * 1024;
/** Base64 of the largest message, with room for line breaks some clients insert. */
export const MAX_GET_MESSAGE_CHARS = Math.ceil(MAX_PKI_MESSAGE_BYTES / 3) * 4 + 2048;
export const MAX_CSR_BYTES = 32 * 1024;
/** A client sends its own certificate, perhaps with a chain. */
export const MAX_CERTIFICATES_IN_REQUEST = 8;
export const MAX_RECIPIENTS_IN_REQUEST = 8;
export const MAX_TRANSACTION_ID_CHARS = 255;
/** RFC 8894 asks for 16 random bytes; a shorter nonce protects nothing, a longer one is no nonce. */
export const MIN_NONCE_BYTES = 8;
export const MAX_NONCE_BYTES = 64;
/** PKCS#9 ub-challengePassword. */
export const MAX_CHALLENGE_PASSWORD_CHARS = 255;
export const MAX_SUBJECT_ALT_NAMES = 100;
