/**
 * What an operator reads when an upstream connection fails: TLS failures (a certificate the
 * private CA does not vouch for, a client certificate the upstream refused) are named as such,
 * with Node's code, since "unreachable" alone sends them looking at the network. Only codes and
 * fixed wording: nothing from the peer is echoed.
 */
const TLS_CODE =
  /^(?:ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH_EXCEEDED)/;

export function describeConnectionError(error: NodeJS.ErrnoException): string {
  const code = error.code ?? 'error';
  if (TLS_CODE.test(code)) return `upstream TLS handshake failed (${code})`;
  return `upstream unreachable (${code})`;
}
