/**
 * Opens an authenticated session on an upstream PostgreSQL with the gateway's own credential:
 * TCP, optional TLS (disable | require | verify-full), StartupMessage, then SCRAM-SHA-256, md5,
 * cleartext or trust, up to the first ReadyForQuery.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { UpstreamConfig } from '../../config/config-types.js';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeSaslMechanisms,
} from '../../wire/postgres/backend-decoders.js';
import {
  encodePasswordMessage,
  encodeRequestCode,
  encodeSaslInitialResponse,
  encodeSaslResponse,
  encodeStartupMessage,
} from '../../wire/postgres/message-writer.js';
import {
  AuthCode,
  Backend,
  SSL_REQUEST_CODE,
  type TransactionStatus,
} from '../../wire/postgres/protocol-constants.js';
import { md5PasswordResponse, ScramClientSession } from '../../wire/postgres/scram.js';
import { readTypedMessage } from '../../wire/postgres/typed-message.js';
import { HandshakeReader } from '../handshake-reader.js';

/** Why an upstream could not be used; `detail` is for the gateway log only, never for the agent. */
export class UpstreamConnectError extends Error {
  constructor(
    readonly upstream: string,
    readonly detail: string,
    readonly sqlState?: string,
  ) {
    super(`upstream ${upstream}: ${detail}`);
    this.name = 'UpstreamConnectError';
  }
}

export interface UpstreamSession {
  readonly socket: Duplex;
  /** The raw TCP socket under any TLS layer (for destroy on abort). */
  readonly tcp: net.Socket;
  readonly parameters: ReadonlyArray<readonly [string, string]>;
  readonly processId: number;
  readonly secretKey: number;
  readonly transactionStatus: TransactionStatus;
  /** Bytes received after the first ReadyForQuery (normally none). */
  readonly leftover: Buffer;
}

const HANDSHAKE_BUFFER_LIMIT = 1024 * 1024;

/** Opens a TCP connection with a deadline, optionally upgrading it to TLS per config. */
export async function openUpstreamTransport(
  upstream: UpstreamConfig,
  signal: AbortSignal,
): Promise<{ socket: Duplex; tcp: net.Socket }> {
  const tcp = net.connect({ host: upstream.host, port: upstream.port });
  tcp.setNoDelay(true);
  const abort = () => tcp.destroy(new Error('aborted'));
  signal.addEventListener('abort', abort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    if (upstream.tls.mode === 'disable') return { socket: tcp, tcp };
    tcp.write(encodeRequestCode(SSL_REQUEST_CODE));
    const answer = await readOneByte(tcp);
    if (answer !== 0x53) throw new Error('server does not accept TLS (answered the SSLRequest with N)');
    const secure = tls.connect({
      socket: tcp,
      servername: net.isIP(upstream.host) === 0 ? upstream.host : undefined,
      host: upstream.host,
      rejectUnauthorized: upstream.tls.mode === 'verify-full',
      ...(upstream.tls.ca !== null ? { ca: upstream.tls.ca } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return { socket: secure, tcp };
  } catch (error) {
    tcp.destroy();
    throw error;
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

function readOneByte(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      // Anything after the single answer byte before the TLS handshake would be injected plaintext.
      if (chunk.length !== 1) reject(new Error('unexpected bytes after the SSLRequest answer'));
      else resolve(chunk[0]!);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('connection closed during SSLRequest'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}

/**
 * Connects and authenticates. `startupParameters` are the agent's vetted parameters; the gateway
 * overrides user and database with its own. Rejects with UpstreamConnectError.
 */
export async function connectUpstream(
  upstream: UpstreamConfig,
  startupParameters: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<UpstreamSession> {
  let transport: { socket: Duplex; tcp: net.Socket };
  try {
    transport = await openUpstreamTransport(upstream, signal);
  } catch (error) {
    throw new UpstreamConnectError(
      upstream.name,
      `connect to ${upstream.host}:${upstream.port} failed: ${messageOf(error)}`,
    );
  }
  const { socket, tcp } = transport;
  const reader = new HandshakeReader(socket, HANDSHAKE_BUFFER_LIMIT);
  const abort = () => tcp.destroy();
  signal.addEventListener('abort', abort, { once: true });
  try {
    socket.write(
      encodeStartupMessage({ ...startupParameters, user: upstream.user, database: upstream.database }),
    );
    const parameters: Array<readonly [string, string]> = [];
    let processId = 0;
    let secretKey = 0;
    let scram: ScramClientSession | null = null;
    for (;;) {
      const message = await reader.take((data) => readTypedMessage(data, HANDSHAKE_BUFFER_LIMIT));
      switch (message.type) {
        case Backend.Authentication: {
          const { code, data } = decodeAuthentication(message.body);
          if (code === AuthCode.Ok) break;
          const password = upstream.password;
          if (password === null)
            throw new Error(`server asked for a password (auth code ${code}) but none is configured`);
          if (code === AuthCode.CleartextPassword) {
            socket.write(encodePasswordMessage(password));
          } else if (code === AuthCode.MD5Password) {
            socket.write(
              encodePasswordMessage(md5PasswordResponse(upstream.user, password, data.subarray(0, 4))),
            );
          } else if (code === AuthCode.SASL) {
            const mechanisms = decodeSaslMechanisms(data);
            if (!mechanisms.includes('SCRAM-SHA-256')) {
              throw new Error(
                `server offers SASL mechanisms ${mechanisms.join(', ')}; only SCRAM-SHA-256 is supported`,
              );
            }
            scram = new ScramClientSession(password);
            socket.write(encodeSaslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
          } else if (code === AuthCode.SASLContinue && scram !== null) {
            socket.write(encodeSaslResponse(scram.handleServerFirst(data)));
          } else if (code === AuthCode.SASLFinal && scram !== null) {
            scram.verifyServerFinal(data);
          } else {
            throw new Error(`unsupported authentication request code ${code}`);
          }
          break;
        }
        case Backend.ParameterStatus: {
          const { name, value } = decodeParameterStatus(message.body);
          parameters.push([name, value]);
          break;
        }
        case Backend.BackendKeyData:
          ({ processId, secretKey } = decodeBackendKeyData(message.body));
          break;
        case Backend.NoticeResponse:
        case Backend.NegotiateProtocolVersion:
          break;
        case Backend.ErrorResponse: {
          const fields = decodeErrorFields(message.body);
          throw new UpstreamConnectError(
            upstream.name,
            `server refused the session: ${fields.get('C') ?? '?????'} ${fields.get('M') ?? ''}`,
            fields.get('C'),
          );
        }
        case Backend.ReadyForQuery: {
          const transactionStatus = decodeReadyForQuery(message.body);
          const leftover = reader.detach();
          return { socket, tcp, parameters, processId, secretKey, transactionStatus, leftover };
        }
        default:
          throw new Error(`unexpected message type 0x${message.type.toString(16)} during startup`);
      }
    }
  } catch (error) {
    reader.detach();
    tcp.destroy();
    if (error instanceof UpstreamConnectError) throw error;
    throw new UpstreamConnectError(upstream.name, messageOf(error));
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
