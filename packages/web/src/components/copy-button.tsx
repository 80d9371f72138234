import { useState } from 'react';

/** Copies a text to the clipboard, and says so. Where the clipboard is refused, the text stays selectable. */
export const CopyButton = ({ text, label }: { text: string; label: string }) => {
  const [state, setState] = useState<'idle' | 'copied' | 'refused'>('idle');
  const copy = () => {
    if (!navigator.clipboard) {
      setState('refused');
      return;
    }
    navigator.clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('refused'),
    );
  };
  return (
    <button type="button" className="small" onClick={copy} aria-live="polite">
      {state === 'copied' ? 'Copied' : state === 'refused' ? 'Select and copy it by hand' : label}
    </button>
  );
};

/** Offers a text as a file to save (a Blob URL; nothing leaves the browser). */
export const DownloadButton = ({ text, fileName, label }: { text: string; fileName: string; label: string }) => {
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = fileName;
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <button type="button" className="small" onClick={download}>
      {label}
    </button>
  );
};
