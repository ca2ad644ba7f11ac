/** A request as myproxy-server writes it on the callout's stdin (see notes: always these 11 keys, in this order). */
export function myproxyRequest(csrPem: string, options: { username?: string; passphrase?: string } = {}): Buffer {
  const lines = [
    `username=${options.username ?? '/DC=org/O=Example/CN=John Doe email=jdoe@example.org'}`,
    `passphrase=${options.passphrase ?? ''}`,
    'proxy_lifetime=43200',
    'retrievers=NULL',
    'renewers=NULL',
    'credname=NULL',
    'creddesc=NULL',
    'authzcreds=NULL',
    'keyretrieve=NULL',
    'trusted_retrievers=NULL',
    'max_cert_lifetime=0',
    '',
    csrPem.trimEnd(),
    '',
  ];
  return Buffer.from(lines.join('\n'));
}
