/**
 * The product's CRL path as the bench calls it: keep revoked entries'
 * encodings, build the TBSCertList, sign on the token, publish. The one
 * place to adjust if the revocation module's interface moves.
 */
export { RevokedEntryCache } from '../../../packages/ca-server/dist/supervisor/revocation/revoked-entry-cache.js';
export { publishCrl, pruneCrlCopies } from '../../../packages/ca-server/dist/supervisor/revocation/crl-files.js';
export { msUntilCrlCanBeDated } from '../../../packages/ca-server/dist/supervisor/revocation/crl-schedule.js';
export { buildTbsCertList, createCrlTemplate } from '@etoken-ca/x509/crl';
export { assembleSigned } from '@etoken-ca/x509/signed';
export { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
export { openPkcs11Token } from '../../../packages/ca-server/dist/signer/token/graphene-token.js';
