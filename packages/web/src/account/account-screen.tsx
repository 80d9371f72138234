import type { ApiToken, SessionListing, TwoFactorStatus } from '@conclave/protocol';
import { PageLayout } from '../components/page-layout.tsx';
import { useResource } from '../components/use-resource.ts';
import type { Me } from '../session.tsx';
import { PasswordSection } from './password-section.tsx';
import { ProfileSection } from './profile-section.tsx';
import { SessionsSection } from './sessions-section.tsx';
import { TokensSection } from './tokens-section.tsx';
import { TwoFactorSection } from './two-factor-section.tsx';

/** Your account: profile, password, sessions, two-factor authentication, API tokens (loaded on demand). */
export const AccountScreen = ({ me }: { me: Me }) => {
  const sessions = useResource<{ sessions: SessionListing[] }>('/me/sessions');
  const twoFactor = useResource<TwoFactorStatus>('/me/2fa');
  const tokens = useResource<{ tokens: ApiToken[] }>('/me/tokens');
  return (
    <PageLayout title="My account" me={me}>
      <ProfileSection me={me} />
      <PasswordSection me={me} onChanged={sessions.reload} />
      <TwoFactorSection me={me} status={twoFactor} />
      <SessionsSection sessions={sessions} />
      <TokensSection tokens={tokens} />
    </PageLayout>
  );
};
