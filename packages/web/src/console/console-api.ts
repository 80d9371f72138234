import type {
  Containment,
  ContainRequest,
  DeclareIncidentRequest,
  Incident,
  IncidentDetail,
  IncidentList,
  IncidentProgress,
  IncidentPublication,
  IncidentScope,
  MailingStatusList,
  NoticePlan,
  NotifyRequest,
  PostmortemView,
  QueuedMailings,
  ScopeRequest,
  UpdateIncidentRequest,
} from '@conclave/protocol';
import { api } from '../api.ts';

/** The operators' incident API (/api/v1/operator/incidents; decision 0015), typed with the protocol's schemas. */
const base = (ref: string): string => `/operator/incidents/${encodeURIComponent(ref)}`;

export type ProgressBucket = 'minute' | '5m' | 'hour' | 'day';

export const incidentsApi = {
  list: () => api<IncidentList>('GET', '/operator/incidents'),
  declare: (body: DeclareIncidentRequest) => api<Incident>('POST', '/operator/incidents', body),
  show: (ref: string) => api<IncidentDetail>('GET', base(ref)),
  update: (ref: string, body: UpdateIncidentRequest) => api<Incident>('PATCH', base(ref), body),
  scope: (ref: string, body: ScopeRequest) => api<IncidentScope>('POST', `${base(ref)}/scope`, body),
  contain: (ref: string, body: ContainRequest) => api<Containment>('POST', `${base(ref)}/containments`, body),
  containment: (ref: string, id: string) => api<Containment>('GET', `${base(ref)}/containments/${encodeURIComponent(id)}`),
  planNotices: (ref: string, body: Omit<NotifyRequest, 'dryRun'>) => api<NoticePlan>('POST', `${base(ref)}/notices`, { ...body, dryRun: true }),
  sendNotices: (ref: string, body: Omit<NotifyRequest, 'dryRun'>) => api<QueuedMailings>('POST', `${base(ref)}/notices`, body),
  mailings: (ref: string) => api<MailingStatusList>('GET', `${base(ref)}/mailings`),
  progress: (ref: string, bucket: ProgressBucket) => api<IncidentProgress>('GET', `${base(ref)}/progress?bucket=${bucket}`),
  publish: (ref: string) => api<IncidentPublication>('POST', `${base(ref)}/publish`),
  unpublish: (ref: string) => api<IncidentPublication>('POST', `${base(ref)}/unpublish`),
  postmortem: (ref: string) => api<PostmortemView>('GET', `${base(ref)}/postmortem`),
  savePostmortem: (ref: string, markdown: string) => api<PostmortemView>('PUT', `${base(ref)}/postmortem`, { markdown }),
  publishPostmortem: (ref: string) => api<PostmortemView>('POST', `${base(ref)}/postmortem/publish`),
};

/** The public pages (server-rendered, outside this client): plain links, not the client's router. */
export const statusPageUrl = '/status';
export const publicIncidentUrl = (ref: string): string => `/status/incidents/${encodeURIComponent(ref)}`;
