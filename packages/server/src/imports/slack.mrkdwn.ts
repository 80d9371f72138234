/**
 * Slack's mrkdwn to Conclave text: `<@U123>` becomes an @mention of the person it was imported as,
 * `<#C123|name>` becomes #name, `<!here>` @here, `<http://x|label>` "label (http://x)", and the HTML entities
 * Slack escapes (&lt; &gt; &amp;) are undone last, so nothing escaped can form a link or mention.
 */
export const convertMrkdwn = (text: string, lookups: { userMention: (slackId: string) => string | undefined; channelName: (slackId: string) => string | undefined }): string =>
  text
    .replace(/<([^<>]*)>/g, (_whole, inner: string) => {
      const [target = '', label] = inner.split('|', 2) as [string, string | undefined];
      if (target.startsWith('@')) {
        const mention = lookups.userMention(target.slice(1));
        return mention ? `@${mention}` : `@${(label ?? 'someone').replace(/^@/, '').replace(/\s+/g, '')}`;
      }
      if (target.startsWith('#')) return `#${lookups.channelName(target.slice(1)) ?? label ?? 'channel'}`;
      if (target.startsWith('!')) {
        const special = target.slice(1).split('^')[0] ?? '';
        if (['here', 'channel', 'everyone'].includes(special)) return `@${special}`;
        return label ?? '';
      }
      if (label === undefined || label === target || `mailto:${label}` === target) return target.replace(/^mailto:/, '');
      return `${label} (${target})`;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
