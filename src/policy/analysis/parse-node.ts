/**
 * Reading libpg-query's JSON parse tree. A node is wrapped as `{ Kind: body }`; fields typed as a
 * specific struct (a RangeVar `relation`, an Alias) are stored unwrapped, and a NULL list element is `{}`.
 */

/** A node body or an unwrapped struct: the parser's JSON object with its fields. */
export type ParseNode = Readonly<Record<string, unknown>>;

/** True for a JSON object (not an array). */
export function isObject(value: unknown): value is ParseNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The kind of a wrapped node (`{ SelectStmt: {…} }` → 'SelectStmt'), '' for an empty (NULL) node, and
 * undefined for an unwrapped struct. Node kinds start with an upper-case letter; struct fields never do.
 */
export function wrappedKind(value: ParseNode): string | undefined {
  for (const key in value) {
    const first = key.charCodeAt(0);
    return first >= 65 && first <= 90 ? key : undefined;
  }
  return '';
}

/** The body of a wrapped node whose kind the caller already knows. */
export function bodyOf(node: ParseNode, kind: string): ParseNode {
  const body = node[kind];
  return isObject(body) ? body : {};
}

/** A string field, or undefined. */
export function stringField(node: ParseNode, field: string): string | undefined {
  const value = node[field];
  return typeof value === 'string' ? value : undefined;
}

/** An object field (wrapped node or unwrapped struct), or undefined. */
export function objectField(node: ParseNode, field: string): ParseNode | undefined {
  const value = node[field];
  return isObject(value) ? value : undefined;
}

/** A list field (absent lists are empty). */
export function listField(node: ParseNode, field: string): readonly unknown[] {
  const value = node[field];
  return Array.isArray(value) ? value : [];
}

/** A boolean field (the JSON omits false). */
export function booleanField(node: ParseNode, field: string): boolean {
  return node[field] === true;
}

/** The `sval` of a wrapped String node, or undefined for anything else. */
export function stringNodeValue(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const body = value.String;
  return isObject(body) ? (stringField(body, 'sval') ?? '') : undefined;
}

/** The strings of a list of String nodes (a dotted name), or undefined when an element is not a String. */
export function stringList(values: readonly unknown[]): string[] | undefined {
  const result: string[] = [];
  for (const value of values) {
    const text = stringNodeValue(value);
    if (text === undefined) return undefined;
    result.push(text);
  }
  return result;
}
