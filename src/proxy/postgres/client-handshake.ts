/**
 * The agent side of connection startup: SSLRequest/GSSENCRequest negotiation, CancelRequest routing,
 * StartupMessage checks, and token authentication. Ends with an authenticated token or a PgError.
 * Sequence: docs in src/wire/postgres/README.md.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { AirlockConfig } from '../../config/config-types.js';
import { isLoopbackHost } from '../../config/loopback-host.js';
import { checkTokenUsable } from '../../identity/authenticate-token.js';
import { isWellFormedTokenId } from '../../identity/token-format.js';
import type { Store, TokenRecord } from '../../store/store.js';
import { MalformedMessageError } from '../../wire/postgres/body-reader.js';
import { encodeNegotiateProtocolVersion } from '../../wire/postgres/message-writer.js';
import { PgError } from '../../wire/postgres/pg-error.js';
import { MAX_STARTUP_PACKET_BYTES } from '../../wire/postgres/protocol-constants.js';
import { readStartupPacket, type StartupPacket } from '../../wire/postgres/startup-packet.js';
import { HandshakeClosedError, HandshakeReader } from '../handshake-reader.js';
import { type AgentAuthMethodInUse, authenticateAgentSecret } from './agent-authentication.js';
import { checkStartupParameters } from './startup-parameters.js';

export interface ClientHandshakeDeps {
  readonly config: AirlockConfig;
  readonly store: Store;
  readonly now: () => number;
  /** Client-side TLS, or null when the gateway has no certificate. */
  readonly tlsContext: tls.SecureContext | null;
  /** Told when the connection switches to TLS, so errors are written to the right layer. */
  readonly onTlsEstablished?: (socket: tls.TLSSocket) => void;
  /** Refuse with this error once the startup packet is read (over the connection limit), as PostgreSQL does. */
  readonly refuseAfterStartup?: PgError;
}

export type ClientHandshakeResult =
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number }
  | {
      readonly kind: 'authenticated';
      readonly socket: Duplex;
      readonly token: TokenRecord;
      readonly forwardedParameters: Record<string, string>;
      readonly tls: boolean;
      readonly authMethod: AgentAuthMethodInUse;
      /** Bytes the agent sent after its last authentication message (pipelined queries). */
      readonly leftover: Buffer;
    };

/** Drives the startup phase on `socket`; the caller owns the deadline. Throws PgError for the agent. */
export async function runClientHandshake(
  tcp: net.Socket,
  deps: ClientHandshakeDeps,
): Promise<ClientHandshakeResult> {
  let socket: Duplex = tcp;
  let reader = new HandshakeReader(tcp, MAX_STARTUP_PACKET_BYTES + 16);
  let encrypted = false;
  let negotiations = 0;
  try {
    let packet: StartupPacket;
    for (;;) {
      packet = await reader.take(readStartupPacket);
      if (packet.kind === 'cancel')
        return { kind: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
      if (packet.kind === 'startup') break;
      if (++negotiations > 2 || encrypted) throw PgError.protocolViolation('repeated encryption negotiation');
      if (packet.kind === 'gssenc-request' || deps.tlsContext === null) {
        tcp.write('N');
        continue;
      }
      // Bytes pipelined behind an SSLRequest would arrive unencrypted but be treated as if they had come
      // over TLS (CVE-2021-23222 class): refuse them.
      if (reader.buffered > 0)
        throw PgError.protocolViolation('data sent after SSLRequest before the TLS handshake');
      reader.detach();
      tcp.write('S');
      const secure = await upgradeToTls(tcp, deps.tlsContext);
      deps.onTlsEstablished?.(secure);
      socket = secure;
      reader = new HandshakeReader(socket, MAX_STARTUP_PACKET_BYTES + 16);
      encrypted = true;
    }

    if (deps.refuseAfterStartup !== undefined) throw deps.refuseAfterStartup;
    if (packet.majorVersion !== 3) {
      throw PgError.protocolViolation(
        `unsupported frontend protocol ${packet.majorVersion}.${packet.minorVersion}: the gateway speaks 3.0`,
      );
    }
    const loopback = tcp.remoteAddress !== undefined && isLoopbackHost(tcp.remoteAddress);
    if (!encrypted && !loopback && !deps.config.listen.allowPlaintextRemote) throw PgError.tlsRequired();

    const checked = checkStartupParameters(packet.parameters);
    if (!checked.ok) throw PgError.startupParameterRefused(checked.refused);
    if (packet.minorVersion > 0 || checked.protocolOptions.length > 0) {
      socket.write(encodeNegotiateProtocolVersion(0, checked.protocolOptions));
    }
    const tokenId = packet.parameters.get('user') ?? '';
    const database = packet.parameters.get('database');
    if (database === undefined || database === '') throw PgError.unknownUpstream(database);
    if (!isWellFormedTokenId(tokenId)) throw PgError.invalidToken('malformed', tokenId.slice(0, 64));

    const record = await deps.store.getToken(tokenId);
    // Cleartext only where nobody can read it on the way: TLS or the local machine. Otherwise SCRAM.
    const authMethod: AgentAuthMethodInUse =
      deps.config.auth.method === 'password' && (encrypted || loopback) ? 'password' : 'scram-sha-256';
    const proven = await authenticateAgentSecret(socket, reader, authMethod, record?.verifier ?? null, {
      seed: tokenId,
      iterations: deps.config.auth.scramIterations,
    });
    if (record === undefined) throw PgError.invalidToken('unknown', tokenId);
    if (!proven) throw PgError.invalidToken('bad-secret', tokenId);
    const usable = checkTokenUsable(record, database, deps.now());
    if (!usable.ok) throw PgError.invalidToken(usable.reason, tokenId);
    // Fail closed when the configuration changed under the token: its role must still lead to its upstream.
    const role = deps.config.roles[record.role];
    if (role === undefined || role.upstream !== record.upstream)
      throw PgError.invalidToken('role-changed', tokenId);

    const leftover = reader.detach();
    return {
      kind: 'authenticated',
      socket,
      token: record,
      forwardedParameters: checked.forwarded,
      tls: encrypted,
      authMethod,
      leftover,
    };
  } catch (error) {
    reader.detach();
    if (error instanceof MalformedMessageError) throw PgError.protocolViolation(error.message);
    throw error;
  }
}

async function upgradeToTls(tcp: net.Socket, context: tls.SecureContext): Promise<tls.TLSSocket> {
  const secure = new tls.TLSSocket(tcp, { isServer: true, secureContext: context });
  await new Promise<void>((resolve, reject) => {
    secure.once('secure', resolve);
    // A failed handshake is the client's problem (wrong CA, a port scanner, HTTP on the wrong port).
    secure.once('error', (error) =>
      reject(new HandshakeClosedError(`TLS handshake failed: ${error.message}`)),
    );
    secure.once('close', () =>
      reject(new HandshakeClosedError('connection closed during the TLS handshake')),
    );
  });
  secure.setNoDelay?.(true);
  return secure;
}
