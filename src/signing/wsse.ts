import { createHash } from 'node:crypto';

/**
 * A WSSE UsernameToken header value (Emarsys): `PasswordDigest` is base64 of the *hex string* of
 * SHA-1(nonce + created + secret), as Emarsys's "Authentication" page computes it in PHP.
 */
export function wsseHeader(username: string, secret: string, nonce: string, created: string): string {
  const hexDigest = createHash('sha1')
    .update(nonce + created + secret)
    .digest('hex');
  const passwordDigest = Buffer.from(hexDigest).toString('base64');
  return `UsernameToken Username="${username}", PasswordDigest="${passwordDigest}", Nonce="${nonce}", Created="${created}"`;
}
