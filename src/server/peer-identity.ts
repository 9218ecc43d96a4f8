import type { PeerCertificate, TLSSocket } from "node:tls";

export type IdentitySource = "cn" | "uri_san";

/**
 * The principal a verified client certificate speaks for. Empty when there is
 * none, which authorization treats as nobody (deny by default).
 */
export function identityOf(socket: TLSSocket, source: IdentitySource): string {
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  if (!("subject" in cert) || cert.subject === undefined) return "";
  if (source === "cn") {
    const cn = cert.subject.CN as string | string[] | undefined;
    return (Array.isArray(cn) ? cn[0] : cn) ?? "";
  }
  return uriSans(cert.subjectaltname)[0] ?? "";
}

export function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  return subjectAltName
    .split(", ")
    .filter((entry) => entry.startsWith("URI:"))
    .map((entry) => entry.slice(4));
}
