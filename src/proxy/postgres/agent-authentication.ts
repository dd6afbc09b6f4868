/**
 * Authenticates an agent's token over the wire: SCRAM-SHA-256 against the verifier stored at issue
 * time, or cleartext (only over TLS or loopback) checked against the same verifier. The token secret
 * is never stored or logged.
 */
import type { Duplex } from 'node:stream';
import type { ScramVerifier } from '../../store/store.js';
import { decodePasswordMessage, decodeSaslInitialResponse } from '../../wire/postgres/frontend-decoders.js';
import type { Frame } from '../../wire/postgres/message-framer.js';
import {
  encodeAuthenticationCleartext,
  encodeAuthenticationSasl,
  encodeAuthenticationSaslContinue,
  encodeAuthenticationSaslFinal,
} from '../../wire/postgres/message-writer.js';
import { PgError } from '../../wire/postgres/pg-error.js';
import { Frontend } from '../../wire/postgres/protocol-constants.js';
import {
  ScramProtocolError,
  ScramServerSession,
  verifyPasswordWithVerifier,
} from '../../wire/postgres/scram.js';
import { readTypedMessage } from '../../wire/postgres/typed-message.js';
import type { HandshakeReader } from '../handshake-reader.js';

/** Largest authentication message accepted from an agent. */
const MAX_AUTH_MESSAGE_BYTES = 8 * 1024;

export type AgentAuthMethodInUse = 'scram-sha-256' | 'password';

/**
 * Runs the exchange. `verifier` is null for an unknown token: SCRAM then runs a mock exchange so an
 * unknown id costs the same as a wrong secret. Resolves true when the secret is proven.
 */
export async function authenticateAgentSecret(
  socket: Duplex,
  reader: HandshakeReader,
  method: AgentAuthMethodInUse,
  verifier: ScramVerifier | null,
  mock: { readonly seed: string; readonly iterations: number },
): Promise<boolean> {
  if (method === 'password') {
    socket.write(encodeAuthenticationCleartext());
    const message = await readPasswordMessage(reader);
    const password = decodePasswordMessage(message.body);
    return verifier !== null && verifyPasswordWithVerifier(password, verifier);
  }
  socket.write(encodeAuthenticationSasl(['SCRAM-SHA-256']));
  const initial = decodeSaslInitialResponse((await readPasswordMessage(reader)).body);
  if (initial.mechanism !== 'SCRAM-SHA-256') {
    throw PgError.authenticationRejected(
      `SASL mechanism ${JSON.stringify(initial.mechanism)} is not supported`,
      'Use SCRAM-SHA-256 without channel binding (libpq: channel_binding=disable or prefer).',
    );
  }
  // The mock salt is derived from the presented id, so probing two unknown ids reveals nothing.
  const server = new ScramServerSession(verifier, { mockSeed: mock.seed, mockIterations: mock.iterations });
  try {
    socket.write(encodeAuthenticationSaslContinue(server.handleClientFirst(initial.data)));
    const final = server.handleClientFinal((await readPasswordMessage(reader)).body);
    if (!final.ok) return false;
    socket.write(encodeAuthenticationSaslFinal(final.serverFinal));
    return true;
  } catch (error) {
    if (error instanceof ScramProtocolError) {
      throw PgError.protocolViolation(`malformed SCRAM message: ${error.message}`);
    }
    throw error;
  }
}

async function readPasswordMessage(reader: HandshakeReader): Promise<Frame> {
  const message = await reader.take((data) => readTypedMessage(data, MAX_AUTH_MESSAGE_BYTES));
  if (message.type !== Frontend.Password) {
    throw PgError.protocolViolation(
      `expected an authentication response, got message type 0x${message.type.toString(16)}`,
    );
  }
  return message;
}
