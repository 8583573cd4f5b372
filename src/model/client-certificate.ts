/**
 * A TLS client certificate presented to a provider (mutual TLS): ADP's token and API endpoints
 * refuse a connection without the certificate ADP issued.
 */
export interface ClientCertificate {
  /** The certificate (chain), PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  passphrase?: string;
}
