/** The output format of a `COPY … TO STDOUT` statement, read from its parse tree. */

import type { ParseNode } from '../policy/analysis/parse-node.js';
import {
  bodyOf,
  isObject,
  listField,
  objectField,
  stringField,
  stringNodeValue,
  wrappedKind,
} from '../policy/analysis/parse-node.js';

export interface CopyOutputFormat {
  readonly format: 'text' | 'csv' | 'binary';
  readonly delimiter: string;
  readonly nullText: string;
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
  /** An ENCODING option: the output is not in the session's encoding. */
  readonly encoding: string | undefined;
}

/** The output format of `stmt` when it is a COPY to the client; undefined for anything else. */
export function copyOutputFormat(stmt: ParseNode): CopyOutputFormat | undefined {
  if (wrappedKind(stmt) !== 'CopyStmt') return undefined;
  const copy = bodyOf(stmt, 'CopyStmt');
  if (copy.is_from === true || stringField(copy, 'filename') !== undefined || copy.is_program === true)
    return undefined;
  const options = new Map<string, unknown>();
  for (const option of listField(copy, 'options')) {
    if (!isObject(option) || wrappedKind(option) !== 'DefElem') continue;
    const def = bodyOf(option, 'DefElem');
    const name = stringField(def, 'defname');
    if (name !== undefined) options.set(name, objectField(def, 'arg'));
  }
  const text = (name: string): string | undefined => {
    const arg = options.get(name);
    return isObject(arg) ? stringNodeValue(arg) : undefined;
  };
  const formatName = (text('format') ?? 'text').toLowerCase();
  const format = formatName === 'csv' || formatName === 'binary' ? formatName : 'text';
  const quote = text('quote') ?? '"';
  return {
    format,
    delimiter: text('delimiter') ?? (format === 'csv' ? ',' : '\t'),
    nullText: text('null') ?? (format === 'csv' ? '' : '\\N'),
    quote,
    escape: text('escape') ?? quote,
    header: options.has('header') && headerOn(options.get('header')),
    encoding: text('encoding'),
  };
}

/** HEADER with no value, true/on/1 or match means a header line. */
function headerOn(arg: unknown): boolean {
  if (!isObject(arg)) return true;
  const kind = wrappedKind(arg);
  if (kind === 'Boolean') return bodyOf(arg, 'Boolean').boolval === true;
  if (kind === 'Integer') return bodyOf(arg, 'Integer').ival !== undefined;
  const text = stringNodeValue(arg)?.toLowerCase();
  return text !== 'false' && text !== 'off' && text !== '0';
}
