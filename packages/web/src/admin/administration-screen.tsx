import { AccessReportSection } from './access-report-section.tsx';
import { MembersSection, type MemberListing } from './members-section.tsx';
import { FormMessage } from '../components/form.tsx';
import { PageLayout } from '../components/page-layout.tsx';
import { useResource } from '../components/use-resource.ts';
import { Link, pathTo } from '../router.tsx';
import type { Me } from '../session.tsx';

/** An instance's administration, for its admins and owners: its people, and who read what. */
export const AdministrationScreen = ({ me, instanceId }: { me: Me; instanceId: string }) => {
  const instance = me.instances.find((i) => i.id === instanceId);
  const isAdmin = instance?.role === 'admin' || instance?.role === 'owner';
  const members = useResource<{ members: MemberListing[] }>(isAdmin ? `/instances/${instanceId}/members` : null);
  if (!instance || !isAdmin) {
    return (
      <PageLayout title="Administration" me={me}>
        <FormMessage>Only this instance&apos;s admins can open its administration, or the instance does not exist.</FormMessage>
        <Link to={pathTo('home')}>Back to the chat</Link>
      </PageLayout>
    );
  }
  return (
    <PageLayout title={`Administration of ${instance.name}`} me={me}>
      <MembersSection instance={instance} myRole={instance.role} myAccountId={me.account.id} members={members} />
      <AccessReportSection instanceId={instance.id} members={members.data?.members ?? []} />
    </PageLayout>
  );
};
