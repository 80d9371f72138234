import { readFile } from 'node:fs/promises';
import password from '@inquirer/password';

const readAllStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * A password from the terminal (hidden, asked twice) or, when input is piped, the first line of stdin.
 * Never from a flag or an environment variable: those end up in shell history and /proc.
 */
export const readNewPassword = async (label: string): Promise<string> => {
  if (!process.stdin.isTTY) {
    const line = (await readAllStdin()).split(/\r?\n/)[0] ?? '';
    if (!line) throw new Error(`No password on standard input. Pipe it in (printf '%s\\n' "$PASSWORD" | conclave …) or run in a terminal.`);
    return line;
  }
  const first = await password({ message: `${label} (at least 8 characters; 15+ advised):`, mask: '*' });
  const second = await password({ message: 'Repeat it:', mask: '*' });
  if (first !== second) throw new Error('The two passwords differ.');
  return first;
};

/**
 * A passphrase from --passphrase-file (its first line) or, on a terminal, typed hidden (twice for a new
 * one). Never from argv or standard input: a passphrase on a command line lands in shell history and ps.
 */
export const readPassphrase = async (options: { file: string | undefined; confirm: boolean; minLength?: number }): Promise<string> => {
  let passphrase: string;
  if (options.file !== undefined) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      throw new Error(`The passphrase file ${options.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    passphrase = text.split(/\r?\n/)[0] ?? '';
    if (!passphrase) throw new Error(`The passphrase file ${options.file} is empty; its first line is the passphrase.`);
  } else {
    if (!process.stdin.isTTY) throw new Error('No terminal to ask for the passphrase: give --passphrase-file FILE (never the passphrase itself on the command line).');
    passphrase = await password({ message: options.confirm ? `New passphrase (at least ${options.minLength ?? 1} characters; a few random words are good):` : 'Passphrase:', mask: '*' });
    if (options.confirm && (await password({ message: 'Repeat it:', mask: '*' })) !== passphrase) throw new Error('The two passphrases differ.');
  }
  if (options.minLength !== undefined && [...passphrase].length < options.minLength) {
    throw new Error(`The passphrase is too short: use at least ${options.minLength} characters. It alone stands between a stolen export and every backup.`);
  }
  return passphrase;
};
