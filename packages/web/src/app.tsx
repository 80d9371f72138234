import type { WebRoute } from '@conclave/protocol';
import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { ChatProvider } from './chat/chat-context.tsx';
import { ChatScreen } from './chat/chat-screen.tsx';
import { UpdateBanner } from './components/update-banner.tsx';
import { Link, navigate, pathTo, safeNext, useRoute } from './router.tsx';
import { ForgotPasswordScreen } from './screens/forgot-password-screen.tsx';
import { LoginScreen } from './screens/login-screen.tsx';
import { ResetPasswordScreen } from './screens/reset-password-screen.tsx';
import { SetupScreen } from './screens/setup-screen.tsx';
import { SignupScreen } from './screens/signup-screen.tsx';
import { useSession } from './session.tsx';

/** Pages for people who are not logged in (a reset link works logged in or not). */
const PUBLIC_PAGES: Partial<Record<WebRoute, () => ReactNode>> = {
  setup: () => <SetupScreen />,
  login: () => <LoginScreen />,
  signup: () => <SignupScreen />,
  forgotPassword: () => <ForgotPasswordScreen />,
  resetPassword: () => <ResetPasswordScreen />,
};

/**
 * Pages of the logged-in chat. Later issues add theirs here and to WEB_ROUTES (account security, instance
 * administration, the incident console), each under its own path.
 */
const CHAT_PAGES: ReadonlySet<WebRoute> = new Set<WebRoute>(['home', 'instance', 'room']);

/** The incident console (operators): its own chunk, fetched when an operator opens it. */
const IncidentConsole = lazy(() => import('./console/incident-console.tsx').then((module) => ({ default: module.IncidentConsole })));
const CONSOLE_PAGES: ReadonlySet<WebRoute> = new Set<WebRoute>(['incidents', 'incident']);
/** Pages beside the chat, each loaded when first opened (the QR code library comes with the account page). */
const AccountScreen = lazy(() => import('./account/account-screen.tsx').then((m) => ({ default: m.AccountScreen })));
const AdministrationScreen = lazy(() => import('./admin/administration-screen.tsx').then((m) => ({ default: m.AdministrationScreen })));
const SETTINGS_PAGES: ReadonlySet<WebRoute> = new Set<WebRoute>(['account', 'administration']);

const Redirect = ({ to }: { to: string }) => {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
};

export const App = () => {
  const session = useSession();
  const route = useRoute();

  if (session.status === 'loading') {
    return (
      <p className="splash" role="status">
        Loading Conclave…
      </p>
    );
  }

  if (route.route === null) {
    return (
      <main className="auth">
        <div className="auth-card">
          <h1>No such page</h1>
          <p>
            <Link to={pathTo('home')}>Go to Conclave</Link>
          </p>
        </div>
      </main>
    );
  }

  const signedIn = session.status === 'signed-in' && session.me;
  if (signedIn && (route.route === 'login' || route.route === 'signup' || (route.route === 'setup' && !session.setupRequired))) {
    return <Redirect to={route.route === 'login' ? safeNext(route.search.get('next')) : pathTo('home')} />;
  }
  const publicPage = PUBLIC_PAGES[route.route];
  if (publicPage) return <>{publicPage()}</>;

  if (CONSOLE_PAGES.has(route.route)) {
    if (!session.me) return <Redirect to={`${pathTo('login')}?next=${encodeURIComponent(`${route.path}${window.location.search}`)}`} />;
    if (!session.me.account.isOperator) {
      return (
        <main className="auth">
          <div className="auth-card">
            <h1>Operators only</h1>
            <p>The incident console is for the operators of this server.</p>
            <p>
              <Link to={pathTo('home')}>Go to Conclave</Link>
            </p>
          </div>
        </main>
      );
    }
    return (
      <Suspense
        fallback={
          <p className="splash" role="status">
            Loading the incident console…
          </p>
        }
      >
        <IncidentConsole />
      </Suspense>
    );
  }

  if (CHAT_PAGES.has(route.route) || SETTINGS_PAGES.has(route.route)) {
    if (!session.me) {
      if (session.setupRequired) return <Redirect to={pathTo('setup')} />;
      const next = route.route === 'home' ? '' : `?next=${encodeURIComponent(`${route.path}${window.location.search}`)}`;
      return <Redirect to={`${pathTo('login')}${next}`} />;
    }
    if (route.route === 'account' || route.route === 'administration') {
      return (
        <Suspense
          fallback={
            <p className="splash" role="status">
              Loading…
            </p>
          }
        >
          {route.route === 'account' ? <AccountScreen me={session.me} /> : <AdministrationScreen me={session.me} instanceId={route.params['instanceId'] ?? ''} />}
        </Suspense>
      );
    }
    return (
      <ChatProvider accountId={session.me.account.id}>
        <ChatScreen me={session.me} />
        <UpdateBanner me={session.me} />
      </ChatProvider>
    );
  }
  return null;
};
