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
