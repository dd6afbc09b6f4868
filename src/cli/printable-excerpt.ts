/** Text received from a remote peer, made safe to show in a CI job log. Pure. */
/**
 * Text from the other side (an error reason, an unexpected body) made safe to show in a CI log: one
 * line (no control characters, so it cannot start a `::workflow-command::` line), at most `max`
 * characters, and every secret in `secrets` replaced by [redacted] in case the peer echoed it.
 */
export function printableExcerpt(text: string, secrets: readonly string[], max = 500): string {
  let shown = text;
  for (const secret of secrets) if (secret !== '') shown = shown.split(secret).join('[redacted]');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  shown = shown.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}
