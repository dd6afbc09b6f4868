import { describe, expect, it } from 'vitest';
import { discoverJwksUri, type FetchJson } from './discover-jwks-uri.js';
import { IdTokenRefusal } from './id-token-refusal.js';

/** A fetch that answers `document` and records the URLs asked for. */
function serving(document: unknown): FetchJson & { urls: string[] } {
  const urls: string[] = [];
  return Object.assign(
    async (url: string) => {
      urls.push(url);
      return document;
    },
    { urls },
  );
}

describe('discoverJwksUri', () => {
  it("appends the well-known path to the issuer, keeping the issuer's own path", async () => {
    const github = serving({
      issuer: 'https://token.actions.githubusercontent.com',
      jwks_uri: 'https://token.actions.githubusercontent.com/.well-known/jwks',
    });
    await expect(discoverJwksUri('https://token.actions.githubusercontent.com', github)).resolves.toBe(
      'https://token.actions.githubusercontent.com/.well-known/jwks',
    );
    expect(github.urls).toEqual([
      'https://token.actions.githubusercontent.com/.well-known/openid-configuration',
    ]);

    const enterprise = serving({
      issuer: 'https://token.actions.githubusercontent.com/acme',
      jwks_uri: 'https://token.actions.githubusercontent.com/acme/.well-known/jwks',
    });
    await discoverJwksUri('https://token.actions.githubusercontent.com/acme', enterprise);
    expect(enterprise.urls).toEqual([
      'https://token.actions.githubusercontent.com/acme/.well-known/openid-configuration',
    ]);
  });

  it('refuses a document for another issuer or with an unusable jwks_uri', async () => {
    const refusal = (document: unknown) =>
      discoverJwksUri('https://gitlab.com', serving(document)).then(
        () => null,
        (error: unknown) => {
          expect(error).toBeInstanceOf(IdTokenRefusal);
          return `${(error as IdTokenRefusal).code}: ${(error as IdTokenRefusal).reason}`;
        },
      );
    const at = 'the discovery document at https://gitlab.com/.well-known/openid-configuration';
    expect(
      await refusal({ issuer: 'https://gitlab.com/', jwks_uri: 'https://gitlab.com/oauth/discovery/keys' }),
    ).toBe(`keys-unavailable: ${at} names another issuer, not https://gitlab.com`);
    expect(await refusal({ issuer: 'https://gitlab.com', jwks_uri: 'http://gitlab.com/keys' })).toBe(
      `keys-unavailable: ${at} names a jwks_uri that is not an https URL (plain http is accepted only for loopback addresses)`,
    );
    expect(await refusal({ issuer: 'https://gitlab.com', jwks_uri: 7 })).toBe(
      `keys-unavailable: ${at} has no jwks_uri`,
    );
    expect(await refusal('text')).toBe(`keys-unavailable: ${at} is not a JSON object`);
  });
});
