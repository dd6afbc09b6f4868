import type { ApprovalSettings } from '../approvals/approval-settings.js';
import type { TrustIssuer } from '../identity/oidc/trust-types.js';
import type { MaskPolicy } from '../masking/mask-policy.js';
/** The validated, resolved and frozen configuration every core module receives from main.ts. */
import type { RolePolicy } from '../policy/policy-types.js';

/** A TCP address to listen on or connect to. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How the gateway speaks TLS to an upstream PostgreSQL. */
export type UpstreamTlsMode = 'disable' | 'require' | 'verify-full';

/** One real database the gateway relays to, with the credential only the gateway holds. */
export interface UpstreamConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Resolved secret (after ${ENV} substitution); null when the upstream needs none (trust). */
  readonly password: string | null;
  readonly tls: {
    readonly mode: UpstreamTlsMode;
    /** PEM contents of the CA bundle for verify-full; null means the system roots. */
    readonly ca: string | null;
  };
  readonly connectTimeoutMs: number;
}

/**
 * A role agents act as: its upstream and its SQL policy. `rules` keeps the policy keys as the file
 * wrote them (allow / approve / deny / functions / search_path); `policy` is what they resolve to.
 */
export interface RoleConfig {
  readonly name: string;
  readonly upstream: string;
  readonly rules: Readonly<Record<string, unknown>>;
  /** The resolved policy (docs/policy.md); a role with no rules gets an empty one that denies every table. */
  readonly policy: RolePolicy;
  /** The role's masking (docs/masking.md); null when it masks nothing. */
  readonly masking: MaskPolicy | null;
  /** How its held statements are approved (docs/approvals.md). */
  readonly approval: ApprovalSettings;
}

/** Someone allowed to search the audit trail over the HTTP API. */
export interface AuditorConfig {
  readonly name: string;
  /** Hex SHA-256 of the auditor's bearer key; the key itself is not kept. */
  readonly keySha256: string;
}

/** A reviewer of held statements (docs/approvals.md): a named person with their own API key. */
export interface ReviewerConfig {
  readonly name: string;
  /** Hex SHA-256 of the reviewer's bearer key; the key itself is not kept. */
  readonly keySha256: string;
  /** Token subjects that are this person: a request from a session with one of them cannot be approved by them. */
  readonly subjects: readonly string[];
}

/** One outgoing webhook for approval requests and decisions. */
export interface NotifyTarget {
  /** http(s) URL; for Slack, the incoming-webhook URL (itself a secret: never logged, only its host). */
  readonly url: string;
  /** HMAC-SHA256 key for the `X-Airlock-Signature` header; null: unsigned (Slack format only). */
  readonly secret: string | null;
  /** `json`: the ApprovalNotification as JSON; `slack`: a readable Slack message. */
  readonly format: 'json' | 'slack';
}

/** Agent-side authentication method the gateway asks clients for. */
export type AgentAuthMethod = 'scram-sha-256' | 'password';

/** `audit.sink`: where the audit shipper writes, and when the file rotates. */
export interface AuditSinkConfig {
  /** Absolute path of the active file; rotated files are `<path>.1` (newest) … `<path>.<keep>`. */
  readonly path: string;
  /** The active file rotates before a line would take it past this many bytes. */
  readonly maxBytes: number;
  /** Rotated files kept. */
  readonly keep: number;
  /** How often the store is checked for events committed by other processes. */
  readonly pollMs: number;
}

export interface AirlockConfig {
  /** Absolute path of the file this came from (null when built in code, e.g. the demo). */
  readonly source: string | null;
  readonly listen: {
    readonly postgres: HostPort;
    /** HTTP API (health, metrics, audit search). null disables it. */
    readonly http: HostPort | null;
    /**
     * The PostgreSQL address clients are told to connect to (connection details of issued and exchanged
     * tokens), when it differs from `postgres` (a load balancer, a wildcard bind); null: `postgres`.
     */
    readonly advertise: HostPort | null;
    /** Accept plaintext connections from non-loopback addresses. Default false. */
    readonly allowPlaintextRemote: boolean;
  };
  /** Client-side TLS material as PEM contents (read from the files at load time), or null. */
  readonly tls: { readonly cert: string; readonly key: string } | null;
  readonly store: { readonly kind: 'sqlite'; readonly path: string };
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  readonly roles: Readonly<Record<string, RoleConfig>>;
  readonly auth: {
    /** What the gateway asks agents for. 'password' (cleartext) is only accepted over TLS or loopback. */
    readonly method: AgentAuthMethod;
    /** PBKDF2 iterations of the SCRAM verifier stored at token issue time. */
    readonly scramIterations: number;
  };
  readonly tokens: {
    readonly defaultTtlMs: number;
    readonly maxTtlMs: number;
    /** How often running sessions are checked against revocations in the store. */
    readonly revocationCheckMs: number;
  };
  readonly limits: {
    /** Largest protocol message accepted from an agent, in bytes (default 64 MiB). */
    readonly maxMessageBytes: number;
    /** Time allowed from TCP accept to an authenticated session (slowloris bound). */
    readonly startupTimeoutMs: number;
    /** Concurrent agent connections; further ones are refused with 53300. */
    readonly maxConnections: number;
  };
  readonly shutdown: {
    /** How long SIGTERM waits for sessions to finish before ending them. */
    readonly graceMs: number;
  };
  readonly log: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  readonly audit: {
    /** Names this gateway's hash chain (default: the host name). */
    readonly instance: string;
    /** Absolute path of the Ed25519 signing key (PEM, mode 0600); its public key is `<path>.pub`. */
    readonly signingKeyPath: string;
    /** A signed checkpoint is written whenever the chain head reaches a multiple of this. */
    readonly checkpointEvery: number;
    /** …and at least this often (ms) while events arrive. */
    readonly checkpointIntervalMs: number;
    /**
     * 'fsync': a record is on disk (fsync'd) before its statement runs; survives power loss.
     * 'os': written to the operating system before its statement runs (survives a gateway crash),
     * fsync'd at the next signed checkpoint, so a power loss can lose up to checkpointIntervalMs.
     */
    readonly durability: 'fsync' | 'os';
    /** Continuous shipping of the chain to a rotating JSONL file (for SIEM collectors); null: off. */
    readonly sink: AuditSinkConfig | null;
  };
  readonly masking: {
    /** How long a catalog entry read for masking is trusted before it is read again. */
    readonly catalogRefreshMs: number;
  };
  /** Who may use the audit search API, by name; empty: the audit API is off. */
  readonly auditors: Readonly<Record<string, AuditorConfig>>;
  /** CI issuers whose OIDC ID tokens are exchanged for Airlock tokens (docs/ci.md); empty: the exchange is off. */
  readonly trust: readonly TrustIssuer[];
  /** Who may approve or deny held statements, by name. */
  readonly reviewers: Readonly<Record<string, ReviewerConfig>>;
  /** Webhooks told of every approval request and decision. */
  readonly notify: readonly NotifyTarget[];
  readonly approvals: {
    /** Base URL of this gateway's HTTP API as reviewers reach it (e.g. https://airlock.example.com), or null. */
    readonly publicUrl: string | null;
    /** How often a held statement checks the store for decisions made by another process (the CLI). */
    readonly pollMs: number;
  };
}
