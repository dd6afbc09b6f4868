/** Reads an HTTP response body up to a size limit, so an endless or huge answer is cut off, not buffered. */

/**
 * The body of `response` (empty when it has none), or `'too-large'` when its declared length or the
 * bytes actually sent pass `maxBytes`; the rest of the body is then cancelled.
 */
export async function readBoundedBody(response: Response, maxBytes: number): Promise<Buffer | 'too-large'> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return 'too-large';
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return 'too-large';
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
