import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key of a test identity provider: its public JWK (as a JWKS serves it) and a signer. */
export interface TestSigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  jwk: JWK;
  privateKey: CryptoKey;
}

export async function makeSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<TestSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A compact JWT signed by `key` (or by `signWith`'s private key under `key`'s kid). */
export function signToken(key: TestSigningKey, claims: JWTPayload, header: { kid?: string; signWith?: TestSigningKey } = {}): Promise<string> {
  const signer = header.signWith ?? key;
  return new SignJWT(claims).setProtectedHeader({ alg: signer.alg, kid: header.kid ?? key.kid, typ: 'JWT' }).sign(signer.privateKey);
}

/**
 * A JWKS endpoint on loopback that serves whatever keys the test puts in `keys`, counts the
 * requests it gets, and answers `status` instead when that is not 200.
 */
export interface JwksServer {
  url: URL;
  keys: JWK[];
  status: number;
  readonly requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  let requests = 0;
  const state = { keys, status: 200 };
  const server = createServer((req, res) => {
    requests += 1;
    if (state.status !== 200) {
      res.writeHead(state.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
    get keys() {
      return state.keys;
    },
    set keys(next: JWK[]) {
      state.keys = next;
    },
    get status() {
      return state.status;
    },
    set status(next: number) {
      state.status = next;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
