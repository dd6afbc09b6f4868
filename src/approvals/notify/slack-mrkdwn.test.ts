import { describe, expect, it } from 'vitest';
import { codeBlock, escapeMrkdwn, inlineCode, mrkdwnWithin, slackDate } from './slack-mrkdwn.js';

describe('slack mrkdwn', () => {
  it('escapes &, < and > so text cannot make links or mentions', () => {
    expect(escapeMrkdwn('a < b && c > <!channel>')).toBe('a &lt; b &amp;&amp; c &gt; &lt;!channel&gt;');
  });

  it('cuts long text with a marker, never inside an escape or a surrogate pair', () => {
    expect(mrkdwnWithin('short', 10)).toBe('short');
    const cut = mrkdwnWithin('&'.repeat(100), 30);
    expect(cut.length).toBeLessThanOrEqual(30);
    expect(cut).toMatch(/^(&amp;)+… \(truncated\)$/);
    const block = codeBlock('😀'.repeat(10), 5);
    expect(block).toBe('```\n😀😀\n```\n_Truncated: the first 4 of 20 characters shown._');
  });

  it('code blocks keep short text whole and report what a long one lost', () => {
    expect(codeBlock('SELECT 1 < 2', 100)).toBe('```\nSELECT 1 &lt; 2\n```');
    expect(codeBlock('x'.repeat(10), 4)).toBe(
      '```\nxxxx\n```\n_Truncated: the first 4 of 10 characters shown._',
    );
    expect(codeBlock('xx', 4, 5000)).toBe(
      '```\nxx\n```\n_Truncated: the first 2 of 5,000 characters shown._',
    );
  });

  it('backticks in the text cannot end the code block or the inline span', () => {
    expect(codeBlock('a ``` b', 100)).toBe('```\na `\u200b`\u200b` b\n```');
    expect(inlineCode('x`y')).toBe("`x'y`");
  });

  it('dates fall back to UTC ISO time', () => {
    expect(slackDate(Date.UTC(2025, 0, 2, 10, 15))).toBe(
      '<!date^1735812900^{date_short_pretty} {time}|2025-01-02T10:15:00.000Z>',
    );
  });
});
