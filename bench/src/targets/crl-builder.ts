/**
 * The product's CRL path as the bench calls it: keep revoked entries'
 * encodings, build the TBSCertList, sign on the token, publish. The one
 * place to adjust if the revocation module's interface moves.
 */
export { RevokedEntryCache } from '../../../packages/ca-server/dist/revocation/revoked-entry-cache.js';
export { publishCrl } from '../../../packages/ca-server/dist/revocation/crl-files.js';
export { buildTbsCertList, createCrlTemplate } from '../../../packages/ca-server/dist/x509/crl.js';
export { assembleSigned } from '../../../packages/ca-server/dist/x509/signed.js';
export { parseCaCertificate } from '../../../packages/ca-server/dist/x509/ca-certificate.js';
export { openPkcs11Token } from '../../../packages/ca-server/dist/token/graphene-token.js';
