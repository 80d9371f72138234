import type { ReactNode } from 'react';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { Dialog } from '../components/dialog.tsx';
import { useForm } from '../components/use-form.ts';

/** Asks before something that cannot be undone, says what it does, and runs it. */
export const ConfirmDialog = ({ title, children, confirmLabel, onConfirm, onClose }: { title: string; children: ReactNode; confirmLabel: string; onConfirm(): Promise<void>; onClose(): void }) => {
  const form = useForm(async () => {
    await onConfirm();
    onClose();
  });
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={form.onSubmit}>
        {children}
        <FormMessage>{form.error}</FormMessage>
        <SubmitButton busy={form.busy}>{confirmLabel}</SubmitButton>
        <button type="button" className="link" onClick={onClose}>
          Cancel
        </button>
      </form>
    </Dialog>
  );
};
