import type { IncidentDetail, PostmortemView } from '@conclave/protocol';
import { useEffect, useId, useState } from 'react';
import { FormMessage } from '../components/form.tsx';
import { incidentsApi, publicIncidentUrl, statusPageUrl } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { formatTime } from './console-format.ts';

/**
 * The public side: put the incident (and its public updates) on the status page or take it off, and write
 * and publish the postmortem. The public pages are the server's own (/status), linked from here.
 */
export const PublishSection = ({ detail, reload }: { detail: IncidentDetail; reload(): Promise<void> }) => {
  const describe = useDescribeError();
  const ref = detail.incident.ref;
  const editorId = useId();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [postmortem, setPostmortem] = useState<PostmortemView | null>(null);
  const [markdown, setMarkdown] = useState('');
  const [dirty, setDirty] = useState(false);

  useEffect(() => {
    incidentsApi
      .postmortem(ref)
      .then((view) => {
        setPostmortem(view);
        setMarkdown(view.markdown ?? view.template ?? '');
      })
      .catch((failure: unknown) => setError(describe(failure)));
  }, [ref, describe]);

  const run = async (label: string, action: () => Promise<string>) => {
    setBusy(label);
    setError(null);
    setMessage(null);
    try {
      setMessage(await action());
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(null);
    }
  };

  const save = async (): Promise<PostmortemView> => {
    const view = await incidentsApi.savePostmortem(ref, markdown);
    setPostmortem(view);
    setDirty(false);
    return view;
  };

  const published = detail.incident.publishedAt;
  return (
    <section id="publish" className="panel" aria-labelledby="publish-heading" tabIndex={-1}>
      <h2 id="publish-heading">5. Publish</h2>
      <FormMessage>{error}</FormMessage>
      <FormMessage kind="success">{message}</FormMessage>
      <p>
        {published ? `On the public status page since ${formatTime(published)}, with its public updates.` : 'Internal only: the status page does not show it.'}{' '}
        Nothing internal (notice, scope, counts, people) is ever on the status page.
      </p>
      <div className="row">
        {published ? (
          <button type="button" onClick={() => void run('unpublish', async () => (await incidentsApi.unpublish(ref), 'Taken off the status page.'))} disabled={busy !== null}>
            Take off the status page
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => void run('publish', async () => (await incidentsApi.publish(ref), 'Published on the status page.'))} disabled={busy !== null}>
            Publish on the status page
          </button>
        )}
        <a href={statusPageUrl} target="_blank" rel="noopener">
          Open the status page
        </a>
        {published ? (
          <a href={publicIncidentUrl(ref)} target="_blank" rel="noopener">
            Open {ref}&apos;s public page
          </a>
        ) : null}
      </div>
      <h3>Postmortem</h3>
      <p className="hint">
        {postmortem?.publishedAt
          ? `Published ${formatTime(postmortem.publishedAt)}: saving a revision shows it at once.`
          : postmortem?.markdown
            ? 'A draft: only operators see it.'
            : 'No postmortem yet: the text below is a skeleton prefilled from the incident.'}{' '}
        Markdown; raw HTML and images are shown as text, links only to http(s), mail or this site.
      </p>
      <div className="field">
        <label htmlFor={editorId}>Postmortem (Markdown)</label>
        <textarea
          id={editorId}
          className="postmortem-editor"
          value={markdown}
          onChange={(event) => {
            setMarkdown(event.target.value);
            setDirty(true);
          }}
          rows={14}
          spellCheck
        />
      </div>
      <div className="row">
        <button type="button" onClick={() => void run('save', async () => (await save(), 'Postmortem saved.'))} disabled={busy !== null || !markdown.trim() || !dirty}>
          Save the draft
        </button>
        <button
          type="button"
          className="primary"
          onClick={() =>
            void run('publish-postmortem', async () => {
              if (dirty || !postmortem?.markdown) await save();
              if (postmortem?.publishedAt) return 'Revision published.';
              setPostmortem(await incidentsApi.publishPostmortem(ref));
              return 'Postmortem published (and the incident with it).';
            })
          }
          disabled={busy !== null || !markdown.trim() || (Boolean(postmortem?.publishedAt) && !dirty)}
        >
          {postmortem?.publishedAt ? 'Publish the revision' : 'Publish the postmortem'}
        </button>
        {postmortem?.publishedAt ? (
          <a href={publicIncidentUrl(ref)} target="_blank" rel="noopener">
            Read the published postmortem
          </a>
        ) : null}
      </div>
    </section>
  );
};
