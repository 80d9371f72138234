import MarkdownItConstructor, { type MarkdownIt } from 'markdown-it';

/** Link targets a postmortem may have: these schemes, or none (a path on this site, or //host). */
const SAFE_SCHEMES = new Set(['http', 'https', 'mailto']);
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Whether a link target (already normalized by markdown-it: entities decoded, then percent-encoded, so
 * no whitespace or control character is left for a browser to strip) may become an href.
 */
export const isSafeLinkTarget = (url: string): boolean => {
  const scheme = SCHEME.exec(url.trim())?.[1]?.toLowerCase();
  return scheme === undefined || SAFE_SCHEMES.has(scheme);
};

const REL = 'noopener noreferrer nofollow';

/**
 * CommonMark with GFM tables and strikethrough, for text an operator publishes to the world. Raw HTML is
 * off (a tag is shown as text), images are off (`![x](y)` is a `!` and a link: the status page loads
 * nothing from elsewhere, and CSP would refuse it anyway), links go only to http(s), mailto or a relative
 * address and carry rel="noopener noreferrer nofollow"; a refused link stays as its text.
 */
const createRenderer = (): MarkdownIt => {
  const md = new MarkdownItConstructor('default', { html: false, linkify: false, typographer: false, breaks: false });
  md.disable(['image']);
  md.validateLink = isSafeLinkTarget;
  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    if (token) {
      token.attrSet('rel', REL);
      // Nothing but href, title and rel reaches the page.
      token.attrs = (token.attrs ?? []).filter(([name]) => name === 'href' || name === 'title' || name === 'rel');
    }
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  return md;
};

const renderer = createRenderer();

/** The postmortem's Markdown as HTML that is safe to put in a page: nothing in it runs. */
export const renderPostmortem = (markdown: string): string => renderer.render(markdown);
