/** Why a CI ID token was refused: a short reason safe to show the caller and to audit, and a stable code. */

/** What went wrong; `keys-unavailable` is the only one worth retrying as is. */
export type IdTokenRefusalCode =
  | 'malformed'
  | 'unknown-issuer'
  | 'wrong-audience'
  | 'expired'
  | 'not-yet-valid'
  | 'issued-in-future'
  | 'bad-signature'
  | 'unknown-key'
  | 'algorithm-not-allowed'
  | 'keys-unavailable';

/** Thrown by IdTokenVerifier; `reason` never contains the token, its signature or key material. */
export class IdTokenRefusal extends Error {
  constructor(
    readonly code: IdTokenRefusalCode,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'IdTokenRefusal';
  }
}
