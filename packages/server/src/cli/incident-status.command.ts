import { open } from 'node:fs/promises';
import { POSTMORTEM_MAX_LENGTH } from '@conclave/protocol';
import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import {
  assertPostmortemText,
  incidentRef,
  postmortemTemplateFor,
  publishIncident,
  publishPostmortem,
  readPostmortem,
  setPostmortem,
  unpublishIncident,
  type OpenedIncident,
} from '../incidents/index.ts';
import type { Services } from '../services.ts';
import { runCommand, withServices } from './run.ts';

/** A postmortem is at most 100,000 characters: at most 4 bytes each in UTF-8. */
const FILE_MAX_BYTES = POSTMORTEM_MAX_LENGTH * 4;

const pageOf = (services: Services, incident: OpenedIncident): string => `${services.config.publicUrl.origin}/status/incidents/${incidentRef(incident)}`;

const readAll = async (chunks: AsyncIterable<Buffer | string>, what: string): Promise<Buffer> => {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > FILE_MAX_BYTES) throw new AppError('VALIDATION_FAILED', { message: `${what} is larger than a postmortem may be (${POSTMORTEM_MAX_LENGTH.toLocaleString('en')} characters).` });
    parts.push(buffer);
  }
  return Buffer.concat(parts);
};

/** The Markdown in FILE (or stdin for "-"): strict UTF-8, a leading byte-order mark dropped, checked like the API checks it. */
export const readPostmortemFile = async (path: string): Promise<string> => {
  let bytes: Buffer;
  if (path === '-') bytes = await readAll(process.stdin, 'The standard input');
  else {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new AppError('VALIDATION_FAILED', { message: `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.` });
    }
    try {
      bytes = await readAll(handle.createReadStream(), path);
    } finally {
      await handle.close();
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new AppError('VALIDATION_FAILED', { message: `${path === '-' ? 'The standard input' : path} is not UTF-8 text.` });
  }
  assertPostmortemText(text);
  return text;
};

/**
 * `conclave incident publish|unpublish|postmortem`: the status page's side of incident response. The
 * `incident` command itself (and its other subcommands) is made by cli/incident.command.ts, which calls this.
 */
export const registerIncidentStatusCommands = (incident: Command): void => {
  incident
    .command('publish')
    .description('Put an incident on the public status page (/status), with its public updates')
    .argument('<ref>', 'the incident: INC-7, 7 or its id')
    .action((ref: string) =>
      runCommand(() =>
        withServices(async (services) => {
          const published = await publishIncident(services, ref);
          console.log(`${incidentRef(published)} is on the status page: ${pageOf(services, published)}`);
        }),
      ),
    );

  incident
    .command('unpublish')
    .description('Take an incident off the public status page (its page answers 404; its postmortem is kept)')
    .argument('<ref>', 'the incident: INC-7, 7 or its id')
    .action((ref: string) =>
      runCommand(() =>
        withServices(async (services) => {
          const done = await unpublishIncident(services, ref);
          console.log(`${incidentRef(done)} is not on the status page.`);
        }),
      ),
    );

  incident
    .command('postmortem')
    .description(
      'Write, show or publish an incident\'s postmortem (Markdown). Without options, prints the text on record.\n' +
        'Start from the skeleton: conclave incident postmortem INC-7 --template > INC-7.md, edit it, then --file INC-7.md, then --publish.',
    )
    .argument('<ref>', 'the incident: INC-7, 7 or its id')
    .option('--file <file>', 'save this Markdown file as the postmortem ("-" reads stdin); a draft until published')
    .option('--template', 'print a Markdown skeleton prefilled from the incident to stdout, and change nothing')
    .option('--publish', 'publish the postmortem on record (with --file: the one just saved), and the incident with it if needed')
    .action((ref: string, options: { file?: string; template?: boolean; publish?: boolean }) =>
      runCommand(async () => {
        if (options.template === true && (options.file !== undefined || options.publish === true)) {
          throw new AppError('VALIDATION_FAILED', { message: '--template only prints the skeleton; give it alone.' });
        }
        const markdown = options.file === undefined ? undefined : await readPostmortemFile(options.file);
        await withServices(async (services) => {
          if (options.template === true) {
            process.stdout.write(await postmortemTemplateFor(services, ref));
            return;
          }
          if (markdown !== undefined) {
            const saved = await setPostmortem(services, ref, markdown);
            console.log(
              saved.postmortemPublishedAt === null
                ? `Saved the postmortem draft of ${incidentRef(saved)} (${markdown.length} characters).`
                : `Revised the published postmortem of ${incidentRef(saved)}: ${pageOf(services, saved)}`,
            );
          }
          if (options.publish === true) {
            const published = await publishPostmortem(services, ref);
            console.log(`The postmortem of ${incidentRef(published)} is published: ${pageOf(services, published)}`);
            return;
          }
          if (markdown === undefined) {
            const draft = await readPostmortem(services, ref);
            if (draft.markdown === null) throw new AppError('POSTMORTEM_DRAFT_MISSING', { message: `${incidentRef(draft.incident)} has no postmortem yet; start from --template.` });
            process.stdout.write(draft.markdown.endsWith('\n') ? draft.markdown : `${draft.markdown}\n`);
          }
        });
      }),
    );
};
