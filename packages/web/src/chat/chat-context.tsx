import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { describeError } from '../api.ts';
import { useSession } from '../session.tsx';
import { ChatStore, type ChatData } from './chat-store.ts';

const ChatContext = createContext<ChatStore | null>(null);

/** One ChatStore per signed-in session: it loads the snapshot and keeps the stream open while mounted. */
export const ChatProvider = ({ accountId, children }: { accountId: string; children: ReactNode }) => {
  const { sessionEnded } = useSession();
  const [store, setStore] = useState<ChatStore | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const store = new ChatStore(sessionEnded);
    setStore(store);
    let cancelled = false;
    let retry: number | undefined;
    const start = () =>
      store.start(accountId).catch((caught: unknown) => {
        if (cancelled) return;
        setError(describeError(caught));
        retry = window.setTimeout(start, 3000);
      });
    void start();
    const online = () => store.nudge();
    const visibility = () => {
      store.setAway(document.visibilityState === 'hidden');
      if (document.visibilityState === 'visible') store.nudge();
    };
    window.addEventListener('online', online);
    document.addEventListener('visibilitychange', visibility);
    return () => {
      cancelled = true;
      window.clearTimeout(retry);
      window.removeEventListener('online', online);
      document.removeEventListener('visibilitychange', visibility);
      store.stop();
    };
  }, [accountId, sessionEnded]);

  if (!store) return null;
  return (
    <ChatContext.Provider value={store}>
      {error && !store.getData().state ? (
        <p className="form-message error" role="alert">
          {error} Trying again…
        </p>
      ) : null}
      {children}
    </ChatContext.Provider>
  );
};

export const useChatStore = (): ChatStore => {
  const store = useContext(ChatContext);
  if (!store) throw new Error('useChatStore outside ChatProvider');
  return store;
};

/** The part of the chat data a component shows; it re-renders when that part changes. */
export const useChat = <T,>(select: (data: ChatData) => T): T => {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getData()));
};
