/**
 * Text for Slack's mrkdwn: escaping, length limits, code blocks and dates shown in each reader's
 * time zone (https://api.slack.com/reference/surfaces/formatting).
 */

// Slack reads only these three as markup; everything else is shown as written.
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** `text` with `&`, `<` and `>` escaped, so that user text cannot make links, mentions or broadcasts. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (char) => ESCAPES[char] ?? char);
}

/** Escaped `text`, followed by a marker when it had to be cut to stay within `maxChars`. */
export function mrkdwnWithin(text: string, maxChars: number): string {
  const whole = escapeMrkdwn(text);
  if (whole.length <= maxChars) return whole;
  const marker = '… (truncated)';
  return escapeCut(text, maxChars - marker.length).text + marker;
}

/**
 * `text` as a code block of at most `maxChars` characters of content, then an italic line when it
 * was cut. `cutFrom`: `text` is already a prefix of an original this long. Runs of backticks are
 * broken with zero-width spaces so the text cannot close the block early.
 */
export function codeBlock(text: string, maxChars: number, cutFrom?: number): string {
  const fenced = text.replace(/`{3,}/g, (run) => [...run].join('\u200b'));
  const { text: shown, kept } = escapeCut(fenced, maxChars);
  const block = `\`\`\`\n${shown}\n\`\`\``;
  if (kept === fenced.length && cutFrom === undefined) return block;
  const of = (cutFrom ?? fenced.length).toLocaleString('en-US');
  return `${block}\n_Truncated: the first ${kept.toLocaleString('en-US')} of ${of} characters shown._`;
}

/** `text` as inline code (backticks inside become quotes: an inline span cannot hold them). */
export function inlineCode(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, "'"))}\``;
}

/** A date Slack shows in each reader's own time zone, with the UTC ISO time as fallback. */
export function slackDate(epochMs: number): string {
  const seconds = Math.floor(epochMs / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(epochMs).toISOString()}>`;
}

/** Escapes the longest prefix of `text` that fits in `maxChars`; `kept` is that prefix's length in `text`. */
function escapeCut(text: string, maxChars: number): { text: string; kept: number } {
  let shown = '';
  let kept = 0;
  for (; kept < text.length; kept++) {
    const char = text.charAt(kept);
    const piece = ESCAPES[char] ?? char;
    if (shown.length + piece.length > maxChars) break;
    shown += piece;
  }
  // Do not split a surrogate pair: half an emoji is an invalid character Slack may reject.
  const last = text.charCodeAt(kept - 1);
  if (kept > 0 && kept < text.length && last >= 0xd800 && last <= 0xdbff) {
    shown = shown.slice(0, -1);
    kept--;
  }
  return { text: shown, kept };
}
