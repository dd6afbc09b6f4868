/**
 * Frontend messages the gateway itself sends upstream on its side connections (catalog reads, plan
 * estimates): simple Query and a text-format extended Parse/Bind/Execute/Sync.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { encodeMessage } from './message-writer.js';
import { Frontend } from './protocol-constants.js';

function cstring(text: string): Buffer {
  return Buffer.from(`${text.replaceAll('\0', '')}\0`, 'utf8');
}

/** Query ('Q'). */
export function encodeQuery(sql: string): Buffer {
  return encodeMessage(Frontend.Query, cstring(sql));
}

/** Parse ('P') of `sql` as `statement` ('' = unnamed), parameter types left for the server to infer. */
export function encodeParse(statement: string, sql: string): Buffer {
  return encodeMessage(
    Frontend.Parse,
    Buffer.concat([cstring(statement), cstring(sql), Buffer.from([0, 0])]),
  );
}

/** Bind ('B') of text parameter values (null = SQL NULL); results in text. */
export function encodeBind(portal: string, statement: string, values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [cstring(portal), cstring(statement)];
  const counts = Buffer.alloc(4);
  counts.writeInt16BE(0, 0); // every parameter in text
  counts.writeInt16BE(values.length, 2);
  parts.push(counts);
  for (const value of values) {
    const length = Buffer.alloc(4);
    if (value === null) {
      length.writeInt32BE(-1);
      parts.push(length);
    } else {
      const bytes = Buffer.from(value, 'utf8');
      length.writeInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  parts.push(Buffer.from([0, 0])); // every result column in text
  return encodeMessage(Frontend.Bind, Buffer.concat(parts));
}

/** Execute ('E') of `portal`, all rows (maxRows 0). */
export function encodeExecute(portal: string): Buffer {
  return encodeMessage(Frontend.Execute, Buffer.concat([cstring(portal), Buffer.alloc(4)]));
}

/** Sync ('S'). */
export function encodeSync(): Buffer {
  return encodeMessage(Frontend.Sync, Buffer.alloc(0));
}
