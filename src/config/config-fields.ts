/** Zod building blocks for config fields: each accepts YAML or `${VAR}` text, applies its default, and says how to fix bad input. */
import * as z from 'zod';
import { parseByteSize } from './byte-size.js';
import type { HostPort } from './config-types.js';
import { parseDuration } from './duration.js';
import { parseHostPort } from './host-port.js';

/** Thrown inside a field parser; turned into a zod issue carrying `fix` in its params. */
class FieldProblem {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {}
}

/** Rejects the current field's value with what is wrong and how to fix it. */
export function reject(problem: string, fix: string): never {
  throw new FieldProblem(problem, fix);
}

/** A field parsed by `parse`; YAML null and a missing key both arrive as `undefined`. */
export function field<T>(parse: (value: unknown) => T) {
  // optional() marks a missing key as allowed, so the parser still runs and supplies the default.
  return z
    .unknown()
    .optional()
    .transform((value, ctx): T => {
      try {
        return parse(value ?? undefined);
      } catch (error) {
        if (!(error instanceof FieldProblem)) throw error;
        ctx.addIssue({ code: 'custom', message: error.problem, params: { fix: error.fix } });
        return z.NEVER;
      }
    });
}

/** Describes a value's YAML type without quoting it (values may be secrets). */
export function describeType(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'true/false';
  return `a ${typeof value}`;
}

/** Quotes a non-secret value for an error message, shortened. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Text; `fallback` when absent (null: optional; left out: required, `hint` says what to write).
 * Non-text is refused, never coerced.
 */
export function textField(options: { fallback?: string | null; hint?: string } = {}) {
  return field((value): string | null => {
    if (value === undefined) {
      if (options.fallback === undefined) reject('is required', options.hint ?? 'add it');
      return options.fallback;
    }
    if (typeof value !== 'string') {
      reject(`expected text, got ${describeType(value)}`, 'quote the value');
    }
    return value;
  });
}

/** `host:port` or `[ipv6]:port`; null when absent and not required. */
export function hostPortField<R extends boolean>(options: { required: R }) {
  const fix = 'write host:port, e.g. 127.0.0.1:6432 or [::1]:6432 (port 0 picks a free port)';
  return field(
    (value) =>
      parseOptionalHostPort(value, options.required, fix) as R extends true ? HostPort : HostPort | null,
  );
}

function parseOptionalHostPort(value: unknown, required: boolean, fix: string): HostPort | null {
  if (value === undefined) {
    if (required) reject('is required', fix);
    return null;
  }
  if (typeof value !== 'string') reject(`expected host:port, got ${describeType(value)}`, fix);
  try {
    return parseHostPort(value.trim());
  } catch (error) {
    return reject((error as Error).message, fix);
  }
}

/** A duration in ms (`15m`, `10s`, `250ms`, integer = ms) within [min, max], both written as durations. */
export function durationField(fallback: string, limits: { min: string; max?: string }) {
  const fix =
    'write a whole number with a unit ms, s, m, h or d, e.g. 15m (a plain number means milliseconds)';
  return field((value): number => {
    const input = value ?? fallback;
    if (typeof input !== 'string' && typeof input !== 'number') {
      reject(`expected a duration, got ${describeType(input)}`, fix);
    }
    let ms: number;
    try {
      ms = parseDuration(input);
    } catch {
      return reject(`${quote(input)} is not a duration`, fix);
    }
    if (ms < parseDuration(limits.min)) reject(`must be at least ${limits.min}`, 'raise it');
    if (limits.max !== undefined && ms > parseDuration(limits.max))
      reject(`must be at most ${limits.max}`, 'lower it');
    return ms;
  });
}

/** A byte size (`64MiB`, `512KiB`, `1GiB`, `100B`, integer = bytes) within [min, max], both written as sizes. */
export function byteSizeField(fallback: string, limits: { min: string; max: string }) {
  const fix = `write a whole number with a unit B, KiB, MiB or GiB between ${limits.min} and ${limits.max}, e.g. 64MiB`;
  return field((value): number => {
    const input = value ?? fallback;
    if (typeof input !== 'string' && typeof input !== 'number') {
      reject(`expected a size, got ${describeType(input)}`, fix);
    }
    let bytes: number;
    try {
      bytes = parseByteSize(input);
    } catch {
      return reject(`${quote(input)} is not a size`, fix);
    }
    if (bytes < parseByteSize(limits.min)) reject(`must be at least ${limits.min}`, fix);
    if (bytes > parseByteSize(limits.max)) reject(`must be at most ${limits.max}`, fix);
    return bytes;
  });
}

/** A whole number (YAML integer or its text, as `${VAR}` gives) of at least `min` (and at most `max`, if given). */
export function integerField(fallback: number, limits: { min: number; max?: number }) {
  const fix =
    limits.max === undefined
      ? `write a whole number of at least ${limits.min}`
      : `write a whole number from ${limits.min} to ${limits.max}`;
  return field((value): number => {
    const input = value ?? fallback;
    const number = typeof input === 'string' && /^\d+$/.test(input.trim()) ? Number(input) : input;
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
      reject(`${quote(input)} is not a whole number`, fix);
    }
    if (number < limits.min) reject(`must be at least ${limits.min}`, fix);
    if (limits.max !== undefined && number > limits.max) reject(`must be at most ${limits.max}`, fix);
    return number;
  });
}

/** true/false (YAML booleans, or the text `true`/`false` as `${VAR}` gives). */
export function booleanField(fallback: boolean) {
  return field((value): boolean => {
    if (value === undefined) return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return reject(`${quote(value)} is not true or false`, 'write true or false');
  });
}

/** One of `choices`; `fallback` when absent (null leaves the decision to the resolver). */
export function choiceField<const T extends string, F extends T | null>(choices: readonly T[], fallback: F) {
  return field((value): T | F => {
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    return reject(
      `${quote(value)} is not one of ${choices.join(' | ')}`,
      `use one of: ${choices.join(', ')}`,
    );
  });
}

/** A mapping with exactly the keys of `shape`; absent or empty (YAML null) means all defaults. */
export function section<S extends z.ZodRawShape>(shape: S) {
  return z.preprocess((value) => value ?? {}, strictMapping(shape));
}

/** A mapping that refuses unknown keys, listing the known ones (typos must not silently weaken security). */
export function strictMapping<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `remove it or fix the spelling (known keys: ${known})` : undefined,
  });
}

/** A mapping from names matching `pattern` to `value`; at least one entry unless `optional` (then absent means none). */
export function namedMap<V extends z.ZodType>(
  what: string,
  pattern: RegExp,
  value: V,
  options: { optional?: boolean } = {},
) {
  return z.preprocess(
    (input, ctx) => {
      if ((input === undefined || input === null) && options.optional) return {};
      if (input === undefined || input === null) {
        ctx.addIssue({
          code: 'custom',
          message: 'is required',
          params: { fix: `define at least one ${what}` },
        });
        return input;
      }
      if (typeof input !== 'object' || Array.isArray(input)) return input;
      const names = Object.keys(input);
      if (names.length === 0 && !options.optional) {
        ctx.addIssue({ code: 'custom', message: 'is empty', params: { fix: `define at least one ${what}` } });
      }
      for (const name of names) {
        // zod drops a `__proto__` key silently; refuse it so nothing the file says goes missing.
        if (!pattern.test(name) || name === '__proto__') {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `${quote(name)} is not a valid ${what} name`,
            params: {
              fix: `use letters, digits, _ and - (not first), at most 63 characters, matching ${pattern}`,
            },
          });
        }
      }
      return input;
    },
    z.record(z.string(), value),
  );
}
