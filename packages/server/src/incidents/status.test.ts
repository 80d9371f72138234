import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { SaxesParser } from 'saxes';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type Response, type TestApp } from '../testing/test-app.ts';
import { declareIncident, findIncident, updateIncident } from './incident.actions.ts';
import { postmortemTemplate } from './postmortem.template.ts';
import { publishPostmortem, setPostmortem } from './postmortem.actions.ts';
import { renderPostmortem } from './postmortem.markdown.ts';
import { publishIncident } from './status.actions.ts';

after(closeTestPools);

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

const FORBIDDEN_TAGS = new Set(['script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'img', 'svg', 'math', 'form', 'input', 'button', 'base', 'audio', 'video', 'source', 'template', 'noscript', 'meta-refresh']);
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'background', 'cite']);

/**
 * Parses HTML as a browser does and lists everything that could run or load from elsewhere: scripts, styles,
 * embedded content, event handlers, inline styles, links to schemes other than http(s) and mailto, and
 * stylesheets from another origin. An empty list: the markup is inert.
 */
const activeMarkup = (html: string, options: { fragment?: boolean } = {}): string[] => {
  const problems: string[] = [];
  const walk = (node: Node): void => {
    if ('tagName' in node) {
      const element = node as Element;
      if (FORBIDDEN_TAGS.has(element.tagName)) problems.push(`<${element.tagName}>`);
      if (element.tagName === 'meta' && element.attrs.some((a) => a.name === 'http-equiv')) problems.push('<meta http-equiv>');
      for (const { name, value } of element.attrs) {
        if (name.startsWith('on')) problems.push(`${name}= on <${element.tagName}>`);
        if (name === 'style' || name === 'srcdoc') problems.push(`${name}= on <${element.tagName}>`);
        if (URL_ATTRIBUTES.has(name)) {
          // What a browser does before it reads the scheme: strip leading C0 and spaces, drop tabs and newlines.
          // eslint-disable-next-line no-control-regex
          const url = value.replace(/^[\u0000-\u0020]+/, '').replace(/[\t\n\r]/g, '');
          const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
          if (scheme !== undefined && !['http', 'https', 'mailto'].includes(scheme)) problems.push(`${name}="${value}" on <${element.tagName}>`);
          if (element.tagName === 'link' && (scheme !== undefined || url.startsWith('//'))) problems.push(`<link href="${value}"> from elsewhere`);
        }
      }
      if (element.tagName === 'a' && element.attrs.some((a) => a.name === 'href') && element.attrs.find((a) => a.name === 'rel')?.value !== 'noopener noreferrer nofollow' && options.fragment) {
        problems.push(`<a href> without rel="noopener noreferrer nofollow"`);
      }
    }
    if ('childNodes' in node) for (const child of node.childNodes) walk(child);
    if ('content' in node && node.content) walk(node.content as Node);
  };
  walk(parse(html));
  return problems;
};

/** The visible text of an HTML document or fragment. */
const textOf = (html: string): string => {
  let text = '';
  const walk = (node: Node): void => {
    if (node.nodeName === '#text') text += (node as DefaultTreeAdapterMap['textNode']).value;
    if ('childNodes' in node) for (const child of node.childNodes) walk(child);
  };
  walk(parse(html));
  return text;
};

/** Parses XML strictly (well-formedness), collecting the Atom entries' id, title, updated and content text. */
const parseFeed = (xml: string): { root: string; entries: Array<{ id: string; title: string; updated: string; content: string; contentType: string | undefined }> } => {
  const parser = new SaxesParser({ xmlns: true });
  const entries: Array<{ id: string; title: string; updated: string; content: string; contentType: string | undefined }> = [];
  const stack: string[] = [];
  let root = '';
  let current: (typeof entries)[number] | undefined;
  let error: Error | undefined;
  parser.on('error', (e) => {
    error ??= e;
  });
  parser.on('opentag', (tag) => {
    if (stack.length === 0) root = `{${tag.uri}}${tag.local}`;
    stack.push(tag.local);
    if (tag.local === 'entry') current = { id: '', title: '', updated: '', content: '', contentType: undefined };
    if (tag.local === 'content' && current) current.contentType = (tag.attributes as Record<string, { value: string }>)['type']?.value;
  });
  parser.on('text', (text) => {
    const inside = stack.at(-1);
    if (current && stack.at(-2) === 'entry' && (inside === 'id' || inside === 'title' || inside === 'updated' || inside === 'content')) current[inside] += text;
  });
  parser.on('closetag', (tag) => {
    stack.pop();
    if (tag.local === 'entry' && current) {
      entries.push(current);
      current = undefined;
    }
  });
  parser.write(xml).close();
  if (error) throw error;
  return { root, entries };
};

const HOSTILE = [
  '# Postmortem',
  '',
  '<script>alert("raw")</script>',
  '',
  '<img src=x onerror=alert(1)>',
  '',
  '<a href="javascript:alert(2)">raw link</a>',
  '',
  '[js link](javascript:alert(3))',
  '',
  '[mixed case](JaVaScRiPt:alert(4))',
  '',
  '[entity link](jav&#x61;script:alert(5))',
  '',
  '[entity colon](javascript&colon;alert(6))',
  '',
  '[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)',
  '',
  '[vb](vbscript:msgbox(8))',
  '',
  '[ftp](ftp://files.example/x) [file](file:///etc/passwd) [intent](intent://scan/#Intent;end)',
  '',
  '[tab](<java\tscript:alert(9)>)',
  '',
  '<javascript:alert(10)>',
  '',
  '![pixel](https://tracker.example/p.gif)',
  '',
  '![data pixel](data:image/png;base64,iVBORw0KGgo=)',
  '',
  '[titled](https://example.org/ "a \\" onmouseover=alert(11) x=\'y")',
  '',
  '&lt;script&gt;alert(12)&lt;/script&gt; and &#60;script&#62;alert(13)&#60;/script&#62;',
  '',
  '<style>body{display:none}</style><iframe src="https://evil.example"></iframe>',
  '',
  '```"><script>alert(14)</script>',
  'code',
  '```',
  '',
  '[ok](https://example.org/report) [mail](mailto:security@example.org) [here](/status)',
  '',
  '| action | owner | due date | status |',
  '|---|---|---|---|',
  '| Rotate keys | Ops | 2025-07-01 | open |',
].join('\n');

describe('postmortem Markdown', () => {
  test('the inertness check itself finds active markup (so the tests below can fail)', () => {
    const bad = '<p><script>x</script><img src=x onerror=y><a href="jav&#x61;script:z">a</a><a href=" javascript:z">b</a><span style="x">c</span></p>';
    assert.deepEqual(activeMarkup(bad), ['<script>', '<img>', 'onerror= on <img>', 'href="javascript:z" on <a>', 'href=" javascript:z" on <a>', 'style= on <span>']);
  });

  test('hostile input renders inert: raw HTML shown as text, only http(s), mailto and relative links, no images, rel on links', () => {
    const html = renderPostmortem(HOSTILE);
    assert.deepEqual(activeMarkup(html, { fragment: true }), []);
    const text = textOf(html);
    assert.ok(text.includes('<script>alert("raw")</script>'), 'raw HTML stays visible as text');
    assert.ok(text.includes('<img src=x onerror=alert(1)>'));
    assert.ok(text.includes('<script>alert(12)</script>'), 'entities are shown as the characters they name, not parsed as markup');
    assert.ok(text.includes('[js link](javascript:alert(3))'), 'a refused link stays as its text');
    const links = [...html.matchAll(/<a [^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(
      links.map((link) => /href="([^"]*)"/.exec(link)?.[1]),
      // A disabled image is a "!" and a link: the page loads nothing from the tracker.
      ['java%09script:alert(9)', 'https://tracker.example/p.gif', 'https://example.org/', 'https://example.org/report', 'mailto:security@example.org', '/status'],
    );
    for (const link of links) assert.match(link, /rel="noopener noreferrer nofollow"/);
    assert.match(html, /title="a &quot; onmouseover=alert\(11\) x='y"/, 'a title is one escaped attribute');
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /<table>[\s\S]*<td>Rotate keys<\/td>/);
  });

  test('the template has every section, prefilled from the incident and its public timeline only', () => {
    const incident = {
      id: '01900000-0000-7000-8000-000000000001',
      number: 12,
      title: 'Web tier | exposure',
      severity: 'SEV1' as const,
      status: 'resolved' as const,
      awareAt: Date.UTC(2025, 5, 1, 9, 0),
      declaredAt: Date.UTC(2025, 5, 1, 9, 30),
      declaredBy: null,
      resolvedAt: Date.UTC(2025, 5, 2, 18, 5),
      details: { components: ['web'], notice: { whatHappened: 'INTERNAL NOTICE', categories: [], approxPeople: 3, approxRecords: null, consequences: '', measures: '', contact: '' } },
      publishedAt: null,
      postmortem: null,
      postmortemPublishedAt: null,
      updatedAt: 0,
    };
    const entry = (at: number, body: string, isPublic: boolean) => ({ id: `id-${at}`, incidentId: incident.id, at, kind: 'update', status: null, body, public: isPublic, actorId: null });
    const markdown = postmortemTemplate(incident, [entry(Date.UTC(2025, 5, 1, 10, 0), 'We are investigating.\nSecond line.', true), entry(Date.UTC(2025, 5, 1, 11, 0), 'INTERNAL NOTE', false)]);
    for (const section of ['Summary', 'Lead-up', 'Fault', 'Impact', 'Detection', 'Response', 'Recovery', 'Timeline', 'Lessons', 'Actions']) assert.match(markdown, new RegExp(`^## ${section}$`, 'm'));
    assert.match(markdown, /^# Postmortem: INC-12 — Web tier \\\| exposure$/m);
    assert.match(markdown, /^- \*\*Severity:\*\* SEV1$/m);
    assert.match(markdown, /^- \*\*Declared:\*\* 2025-06-01 09:30 UTC$/m);
    assert.match(markdown, /^- \*\*Resolved:\*\* 2025-06-02 18:05 UTC$/m);
    assert.match(markdown, /^- \*\*2025-06-01 10:00\*\*: We are investigating\.\n {2}Second line\.$/m);
    assert.match(markdown, /^\| action \| owner \| due date \| status \|$/m);
    assert.doesNotMatch(markdown, /INTERNAL/);
    assert.deepEqual(activeMarkup(renderPostmortem(markdown), { fragment: true }), []);
  });
});

const expectError = (response: Response, status: number, code: string): void => {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.json<{ error: { code: string } }>().error.code, code);
};

describeEachEngine('status page and postmortems', (engine) => {
  let t: TestApp;
  let operator: Client;
  let member: Client;

  before(async () => {
    t = await createTestApp(engine, { PUBLIC_URL: 'http://chat.example.org' });
    const setup = await t.setUpWithMember();
    operator = setup.owner;
    member = setup.member;
  });
  after(() => t.close());

  const get = (url: string): Promise<Response> => t.inject({ method: 'GET', url });
  const notFoundBody = async (): Promise<string> => (await get('/status/incidents/INC-999999')).body;
  const declare = (title: string) =>
    declareIncident(t.ctx, {
      title,
      severity: 'SEV2',
      components: ['secret-component-name'],
      notice: { whatHappened: 'INTERNAL-NOTICE-TEXT', approxPeople: 4242, contact: 'internal-contact@example.org' },
      summary: 'INTERNAL-DECLARATION-NOTE',
    });

  test('a declared incident is not on the status page until published; its page answers like a missing one', async () => {
    const incident = await declare('Unpublished outage');
    const page = await get('/status');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html; charset=utf-8/);
    assert.match(page.body, /All systems normal/);
    assert.match(page.body, /chat\.example\.org status/);
    assert.doesNotMatch(page.body, /Unpublished outage/);

    const missing = await get('/status/incidents/INC-999999');
    const unpublished = await get(`/status/incidents/INC-${incident.number}`);
    assert.equal(missing.statusCode, 404);
    assert.equal(unpublished.statusCode, 404);
    assert.equal(unpublished.body, missing.body, 'an unpublished incident answers exactly like a missing one');
    assert.match(unpublished.body, /INCIDENT_NOT_FOUND/);
    assert.equal((await get(`/status/incidents/${incident.id}`)).body, missing.body, 'nor by its id');
    const odd = await get('/status/incidents/%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    assert.equal(odd.statusCode, 404);
    assert.equal(odd.body, missing.body, 'a malformed reference is not echoed');

    const json = await get('/api/v1/status');
    assert.equal(json.statusCode, 200);
    const body = json.json<{ state: string; open: unknown[]; past: unknown[]; name: string }>();
    assert.equal(body.state, 'normal');
    assert.equal(body.name, 'chat.example.org');
    assert.ok(!json.body.includes('Unpublished outage'));
    assert.equal(parseFeed((await get('/status/feed.atom')).body).entries.filter((e) => e.title.includes('Unpublished outage')).length, 0);
  });

  test('operators publish: the incident and only its public updates appear, nothing internal', async () => {
    const incident = await declare('Login failures <b>bold</b> & "quoted"');
    const ref = `INC-${incident.number}`;
    await updateIncident(t.ctx, ref, { status: 'identified', note: 'PUBLIC-UPDATE-ONE: we found the cause.', public: true });
    await updateIncident(t.ctx, ref, { note: 'INTERNAL-UPDATE-TWO: suspect the cache.', public: false });

    expectError(await t.inject({ method: 'POST', url: `/api/v1/operator/incidents/${ref}/publish` }), 401, 'UNAUTHENTICATED');
    expectError(await t.as(member, { method: 'POST', url: `/api/v1/operator/incidents/${ref}/publish` }), 403, 'FORBIDDEN');
    const minted = await t.as(operator, { method: 'POST', url: '/api/v1/me/tokens', payload: { name: 'status bot', scopes: ['read', 'write', 'admin'] } });
    assert.equal(minted.statusCode, 201, minted.body);
    const apiToken = minted.json<{ token: string }>().token;
    expectError(await t.inject({ method: 'POST', url: `/api/v1/operator/incidents/${ref}/publish`, headers: { authorization: `Bearer ${apiToken}` } }), 403, 'TOKEN_NOT_ALLOWED');
    expectError(await t.as(operator, { method: 'POST', url: '/api/v1/operator/incidents/not-a-ref/publish' }), 400, 'VALIDATION_FAILED');
    expectError(await t.as(operator, { method: 'POST', url: '/api/v1/operator/incidents/INC-999999/publish' }), 404, 'INCIDENT_NOT_FOUND');
    assert.equal((await findIncident(t.ctx, ref)).publishedAt, null, 'refused requests changed nothing');
    assert.equal((await get(`/status/incidents/${ref}`)).statusCode, 404);

    const published = await t.as(operator, { method: 'POST', url: `/api/v1/operator/incidents/${ref.toLowerCase()}/publish` });
    assert.equal(published.statusCode, 200, published.body);
    const publication = published.json<{ ref: string; publishedAt: string | null; statusUrl: string }>();
    assert.equal(publication.ref, ref);
    assert.ok(publication.publishedAt);
    assert.equal(publication.statusUrl, `http://chat.example.org/status/incidents/${ref}`);
    const again = await t.as(operator, { method: 'POST', url: `/api/v1/operator/incidents/${ref}/publish` });
    assert.equal(again.json<{ publishedAt: string }>().publishedAt, publication.publishedAt, 'publishing twice changes nothing');

    const page = await get('/status');
    assert.doesNotMatch(page.body, /All systems normal/);
    assert.match(page.body, new RegExp(`href="/status/incidents/${ref}"`));
    assert.ok(page.body.includes('Login failures &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;'), 'the title is escaped');
    assert.match(page.body, /SEV2/);
    assert.match(page.body, /Identified/);
    assert.match(page.body, /PUBLIC-UPDATE-ONE/);

    const detail = await get(`/status/incidents/${ref}`);
    assert.equal(detail.statusCode, 200);
    assert.match(detail.body, /PUBLIC-UPDATE-ONE: we found the cause\./);
    for (const response of [page, detail, await get('/api/v1/status'), await get('/status/feed.atom')]) {
      for (const secret of ['INTERNAL-UPDATE-TWO', 'INTERNAL-DECLARATION-NOTE', 'INTERNAL-NOTICE-TEXT', 'secret-component-name', 'internal-contact@example.org', '4242', operator.accountId, incident.id]) {
        assert.ok(!response.body.includes(secret), `${secret} must not be public`);
      }
      assert.doesNotMatch(response.body, /Published on the status page/, 'the internal publication entry stays internal');
    }
    assert.deepEqual(activeMarkup(detail.body), []);

    const json = (await get('/api/v1/status')).json<{ state: string; open: Array<{ ref: string; title: string; status: string; updates: Array<{ body: string }>; url: string; postmortemUrl: string | null }> }>();
    assert.equal(json.state, 'incident');
    const listed = json.open.find((entry) => entry.ref === ref);
    assert.ok(listed);
    assert.equal(listed.title, 'Login failures <b>bold</b> & "quoted"');
    assert.deepEqual(listed.updates.map((update) => update.body), ['PUBLIC-UPDATE-ONE: we found the cause.']);
    assert.equal(listed.postmortemUrl, null);
    assert.deepEqual(Object.keys(listed).sort(), ['declaredAt', 'lastUpdateAt', 'postmortemUrl', 'ref', 'resolvedAt', 'severity', 'status', 'title', 'updates', 'url']);

    // Unpublishing takes it off again, and its page answers like a missing one.
    expectError(await t.as(member, { method: 'POST', url: `/api/v1/operator/incidents/${ref}/unpublish` }), 403, 'FORBIDDEN');
    const unpublished = await t.as(operator, { method: 'POST', url: `/api/v1/operator/incidents/${ref}/unpublish` });
    assert.equal(unpublished.statusCode, 200, unpublished.body);
    assert.equal(unpublished.json<{ publishedAt: string | null }>().publishedAt, null);
    assert.doesNotMatch((await get('/status')).body, new RegExp(`${ref}:`));
    const gone = await get(`/status/incidents/${ref}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.body, await notFoundBody());

    const audited = await t.ctx.database.db.selectFrom('audit_entries').select('action').where('action', 'in', ['incident.publish', 'incident.unpublish']).execute();
    assert.deepEqual(audited.map((row) => row.action).sort(), ['incident.publish', 'incident.unpublish'], 'one entry each: the second publish changed nothing');
  });

  test('postmortem: template, validation, hostile Markdown inert on the page and escaped in the feed', async () => {
    const incident = await declare('Database exposure');
    const ref = `INC-${incident.number}`;
    await updateIncident(t.ctx, ref, { status: 'resolved', note: 'PUBLIC-RESOLVED: service restored.', public: true });
    await updateIncident(t.ctx, ref, { note: 'INTERNAL-AFTERMATH', public: false });
    const url = `/api/v1/operator/incidents/${ref}/postmortem`;

    expectError(await t.as(member, { method: 'GET', url }), 403, 'FORBIDDEN');
    const empty = await t.as(operator, { method: 'GET', url });
    assert.equal(empty.statusCode, 200, empty.body);
    const view = empty.json<{ markdown: string | null; html: string | null; template: string | null; publishedAt: string | null }>();
    assert.equal(view.markdown, null);
    assert.equal(view.html, null);
    assert.ok(view.template);
    assert.match(view.template, new RegExp(`^# Postmortem: ${ref} — Database exposure$`, 'm'));
    assert.match(view.template, /PUBLIC-RESOLVED: service restored\./);
    assert.doesNotMatch(view.template, /INTERNAL/);

    expectError(await t.as(operator, { method: 'POST', url: `${url}/publish` }), 409, 'POSTMORTEM_DRAFT_MISSING');
    const bad: unknown[] = [
      {},
      { markdown: '' },
      { markdown: 'x'.repeat(100_001) },
      { markdown: 'fine\u0000then a NUL' },
      { markdown: 'escape \u001b[31m' },
      { markdown: 'ok', extra: true },
      { markdown: 42 },
    ];
    for (const payload of bad) expectError(await t.as(operator, { method: 'PUT', url, payload }), 400, 'VALIDATION_FAILED');
    expectError(await t.as(operator, { method: 'PUT', url, payload: { markdown: '   \n\t ' } }), 400, 'VALIDATION_FAILED');
    expectError(await t.as(member, { method: 'PUT', url, payload: { markdown: '# mine' } }), 403, 'FORBIDDEN');
    expectError(await t.as(operator, { method: 'PUT', url: '/api/v1/operator/incidents/INC-999999/postmortem', payload: { markdown: '# x' } }), 404, 'INCIDENT_NOT_FOUND');
    assert.equal((await findIncident(t.ctx, ref)).postmortem, null, 'refused writes wrote nothing');
    assert.equal((await t.as(operator, { method: 'PUT', url, payload: { markdown: 'y'.repeat(100_000) } })).statusCode, 200, '100,000 characters is allowed');

    const saved = await t.as(operator, { method: 'PUT', url, payload: { markdown: HOSTILE } });
    assert.equal(saved.statusCode, 200, saved.body);
    const draft = saved.json<{ markdown: string; html: string; template: string | null; publishedAt: string | null }>();
    assert.equal(draft.markdown, HOSTILE);
    assert.equal(draft.template, null);
    assert.equal(draft.publishedAt, null);
    assert.deepEqual(activeMarkup(draft.html, { fragment: true }), []);
    assert.equal(draft.html, renderPostmortem(HOSTILE), 'the preview is exactly what the page will show');

    // A draft is not public, even once the incident is.
    await publishIncident(t.ctx, ref);
    const before = await get(`/status/incidents/${ref}`);
    assert.equal(before.statusCode, 200);
    assert.doesNotMatch(before.body, /Postmortem|raw link/);

    const published = await t.as(operator, { method: 'POST', url: `${url}/publish` });
    assert.equal(published.statusCode, 200, published.body);
    assert.ok(published.json<{ publishedAt: string | null }>().publishedAt);

    const page = await get(`/status/incidents/${ref}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<section class="postmortem" id="postmortem">/);
    assert.match(page.body, /The postmortem is published\./, 'a public timeline entry says so');
    assert.deepEqual(activeMarkup(page.body), []);
    assert.ok(textOf(page.body).includes('<script>alert("raw")</script>'));
    assert.doesNotMatch(page.body, /INTERNAL/);

    const feed = await get('/status/feed.atom');
    assert.equal(feed.statusCode, 200);
    assert.match(feed.headers['content-type'] as string, /^application\/atom\+xml; charset=utf-8/);
    const parsed = parseFeed(feed.body);
    assert.equal(parsed.root, '{http://www.w3.org/2005/Atom}feed');
    const entry = parsed.entries.find((e) => e.id === `http://chat.example.org/status/incidents/${ref}`);
    assert.ok(entry, 'one entry per published incident');
    assert.equal(parsed.entries.filter((e) => e.id === entry.id).length, 1);
    assert.equal(entry.title, `${ref}: Database exposure`);
    assert.equal(entry.contentType, 'html');
    assert.match(entry.content, /PUBLIC-RESOLVED: service restored\./);
    assert.match(entry.content, /<h2>Postmortem<\/h2>/, 'the content is HTML once the XML escaping is undone');
    assert.deepEqual(activeMarkup(entry.content, { fragment: true }).filter((p) => !p.startsWith('<a href> without rel')), []);
    assert.ok(!feed.body.includes('<script>'), 'no raw markup in the XML itself');
    assert.doesNotMatch(feed.body, /INTERNAL/);
    const newest = await t.ctx.database.db.selectFrom('incident_updates').select((eb) => eb.fn.max('at').as('at')).where('incident_id', '=', incident.id).where('public', '=', 1).executeTakeFirstOrThrow();
    assert.equal(entry.updated, new Date(Number(newest.at)).toISOString(), 'updated is its newest public update');

    const json = (await get('/api/v1/status')).json<{ past: Array<{ ref: string; postmortemUrl: string | null }> }>();
    assert.equal(json.past.find((p) => p.ref === ref)?.postmortemUrl, `http://chat.example.org/status/incidents/${ref}#postmortem`);

    // Revising a published postmortem shows at once.
    const revised = await t.as(operator, { method: 'PUT', url, payload: { markdown: '# Revised\n\nREVISED-TEXT' } });
    assert.equal(revised.statusCode, 200, revised.body);
    assert.match((await get(`/status/incidents/${ref}`)).body, /REVISED-TEXT/);
  });

  test('publishing a postmortem publishes its incident; the 90-day window keeps old incidents off the list', async () => {
    const incident = await declare('Quiet incident');
    const ref = `INC-${incident.number}`;
    await setPostmortem(t.ctx, ref, '# Short\n\nAll good.');
    const done = await publishPostmortem(t.ctx, ref);
    assert.ok(done.publishedAt);
    assert.ok(done.postmortemPublishedAt);
    assert.match((await get(`/status/incidents/${ref}`)).body, /All good\./);

    const old = await declare('Ancient incident');
    await updateIncident(t.ctx, `INC-${old.number}`, { status: 'resolved', public: true, note: 'Done long ago.' });
    await publishIncident(t.ctx, `INC-${old.number}`);
    assert.match((await get('/status')).body, /Ancient incident/, 'resolved recently: listed among past incidents');
    await t.ctx.database.db.updateTable('incidents').set({ resolved_at: t.ctx.now() - 91 * 86_400_000 }).where('id', '=', old.id).execute();
    assert.doesNotMatch((await get('/status')).body, /Ancient incident/);
    assert.equal((await get(`/status/incidents/INC-${old.number}`)).statusCode, 200, 'its page stays');
  });

  test('the pages work under the CSP helmet sets: no script, no inline style, one same-origin stylesheet', async () => {
    const incident = await declare('CSP check');
    await publishIncident(t.ctx, `INC-${incident.number}`);
    for (const url of ['/status', `/status/incidents/INC-${incident.number}`, '/status/incidents/INC-999999']) {
      const response = await get(url);
      const csp = response.headers['content-security-policy'] as string;
      assert.ok(csp, `${url} has a CSP`);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src-attr 'none'/);
      assert.doesNotMatch(csp, /script-src [^;]*'unsafe-inline'/);
      assert.deepEqual(activeMarkup(response.body), [], url);
      assert.doesNotMatch(response.body, /<script|<style|\sstyle=/i);
      const sheets = [...response.body.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1]);
      assert.deepEqual(sheets, ['/status/status.css']);
    }
    const css = await get('/status/status.css');
    assert.equal(css.statusCode, 200);
    assert.match(css.headers['content-type'] as string, /^text\/css/);
    assert.ok(css.headers['content-security-policy']);
    assert.doesNotMatch(css.body, /url\(|@import/, 'the stylesheet loads nothing');
    expectError(await t.inject({ method: 'POST', url: '/status' }), 404, 'ROUTE_NOT_FOUND');
  });

  test('the public pages are rate limited per address', async () => {
    const limited = await createTestApp(engine, { STATUS_RATE_LIMIT_IP: '2/1m' });
    try {
      // Counted per route, as for every limited route.
      for (const url of ['/status', '/status/feed.atom', '/api/v1/status']) {
        for (let i = 0; i < 2; i += 1) assert.equal((await limited.inject({ method: 'GET', url, remoteAddress: '203.0.113.7' })).statusCode, 200, url);
        expectError(await limited.inject({ method: 'GET', url, remoteAddress: '203.0.113.7' }), 429, 'RATE_LIMITED');
      }
      assert.equal((await limited.inject({ method: 'GET', url: '/status', remoteAddress: '203.0.113.8' })).statusCode, 200, 'another address is not limited');
    } finally {
      await limited.close();
    }
  });
});

describeEachEngine('conclave incident publish|unpublish|postmortem', (engine) => {
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;
  before(async () => {
    workspace = await cliWorkspace(engine, 'incident-status-cli', { LOG_LEVEL: 'warn', PUBLIC_URL: 'http://chat.example.org' });
  });
  after(() => workspace.close());

  test('publish, write and publish a postmortem from the console; refusals exit 1 with the code', async () => {
    const { dir, env, schema } = workspace;
    let app = await createTestApp(engine, { PUBLIC_URL: 'http://chat.example.org' }, { dir, pgSchema: schema });
    const incident = await declareIncident(app.ctx, { title: 'Console incident', severity: 'SEV3' });
    await updateIncident(app.ctx, `INC-${incident.number}`, { note: 'CONSOLE-PUBLIC-NOTE', public: true });
    await app.close();
    const ref = `INC-${incident.number}`;

    const missing = await runCli(['incident', 'publish', 'INC-999999'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /INCIDENT_NOT_FOUND/);
    const published = await runCli(['incident', 'publish', ref], env);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(published.stdout.trim(), `${ref} is on the status page: http://chat.example.org/status/incidents/${ref}`);

    const noDraft = await runCli(['incident', 'postmortem', ref, '--publish'], env);
    assert.equal(noDraft.code, 1);
    assert.match(noDraft.stderr, /POSTMORTEM_DRAFT_MISSING/);
    const template = await runCli(['incident', 'postmortem', ref, '--template'], env);
    assert.equal(template.code, 0, template.stderr);
    assert.match(template.stdout, new RegExp(`^# Postmortem: ${ref} — Console incident$`, 'm'));
    assert.match(template.stdout, /CONSOLE-PUBLIC-NOTE/);
    assert.equal((await runCli(['incident', 'postmortem', ref, '--template', '--publish'], env)).code, 1);

    const controlFile = join(dir, 'bad.md');
    await writeFile(controlFile, '# Bad\n\nbell \u0007 here\n');
    const refused = await runCli(['incident', 'postmortem', ref, '--file', controlFile], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /VALIDATION_FAILED.*control character on line 3/);
    const notUtf8 = join(dir, 'latin1.md');
    await writeFile(notUtf8, Buffer.from([0x23, 0x20, 0xe9, 0x0a]));
    assert.match((await runCli(['incident', 'postmortem', ref, '--file', notUtf8], env)).stderr, /not UTF-8/);
    assert.match((await runCli(['incident', 'postmortem', ref, '--file', join(dir, 'none.md')], env)).stderr, /Cannot read .*ENOENT/);

    const file = join(dir, 'pm.md');
    await writeFile(file, `\uFEFF${template.stdout.replace('_In a few sentences: what happened, who was affected and for how long, and what we did about it._', 'CONSOLE-SUMMARY <script>alert(1)</script>')}`);
    const saved = await runCli(['incident', 'postmortem', ref, '--file', file], env);
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, new RegExp(`Saved the postmortem draft of ${ref}`));
    const shown = await runCli(['incident', 'postmortem', ref], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^# Postmortem/, 'the byte-order mark was dropped');
    assert.match(shown.stdout, /CONSOLE-SUMMARY/);

    const out = await runCli(['incident', 'postmortem', ref, '--publish'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`The postmortem of ${ref} is published`));

    app = await createTestApp(engine, { PUBLIC_URL: 'http://chat.example.org' }, { dir, pgSchema: schema });
    try {
      const page = await app.inject({ method: 'GET', url: `/status/incidents/${ref}` });
      assert.equal(page.statusCode, 200);
      assert.ok(textOf(page.body).includes('CONSOLE-SUMMARY <script>alert(1)</script>'));
      assert.deepEqual(activeMarkup(page.body), []);
      const unpublished = await runCli(['incident', 'unpublish', ref], env);
      assert.equal(unpublished.code, 0, unpublished.stderr);
      assert.equal((await app.inject({ method: 'GET', url: `/status/incidents/${ref}` })).statusCode, 404);
      const audit = await app.ctx.database.db.selectFrom('audit_entries').select('action').where('action', 'like', 'incident.%').orderBy('seq').execute();
      assert.deepEqual(
        audit.map((row) => row.action),
        ['incident.declare', 'incident.update', 'incident.publish', 'incident.postmortem_write', 'incident.postmortem_publish', 'incident.unpublish'],
      );
    } finally {
      await app.close();
    }
  });
});
