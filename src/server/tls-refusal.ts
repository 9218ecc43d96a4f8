import type { TLSSocket } from "node:tls";

const EXPLANATIONS: Record<string, string> = {
  CERT_HAS_EXPIRED: "the client certificate has expired",
  CERT_NOT_YET_VALID: "the client certificate is not valid yet (its notBefore is in the future)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the client certificate is not signed by a CA in tls.ca",
  UNABLE_TO_GET_ISSUER_CERT: "the client certificate is not signed by a CA in tls.ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the client certificate is not signed by a CA in tls.ca",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the client certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the client certificate chains to a CA not in tls.ca",
  CERT_SIGNATURE_FAILURE: "the client certificate's signature does not verify",
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "the client sent no certificate",
};

/**
 * Why a TLS handshake failed, for the log: the verification code (as
 * operators search for it) and a sentence. In TLS 1.3 a refused client
 * certificate surfaces as a bare "socket hang up"; the verification result on
 * the socket says why.
 */
export function tlsRefusalReason(
  error: NodeJS.ErrnoException,
  socket: TLSSocket,
  handshakeTimeoutMs: number,
): { reason: string; explanation?: string } {
  const verification = socket.authorizationError;
  const reason =
    verification !== undefined && verification !== null
      ? String(verification)
      : (error.code ?? error.message);
  if (reason === "ERR_TLS_HANDSHAKE_TIMEOUT")
    return { reason, explanation: `the TLS handshake did not complete within ${handshakeTimeoutMs} ms` };
  const explanation = EXPLANATIONS[reason];
  return explanation === undefined ? { reason } : { reason, explanation };
}
