import {
  CreateInstanceRequest,
  CreateInviteRequest,
  CreateInviteResponse,
  ErrorBody,
  Instance,
  InstanceParams,
  LoginResponse,
  MemberList,
  MemberParams,
  SetRoleRequest,
  SetupRequest,
  SetupStatus,
  SignupRequest,
  SignupResponse,
  UpdateInstanceRequest,
} from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { csrfTokenFor } from '../crypto/index.ts';
import { actorOf, clientOf, createAuthGuard, setSessionCookie } from '../http/auth-guard.ts';
import { bodyEmailKey, perAccountLimit, perIpLimit } from '../http/rate-limits.ts';
import type { App } from '../http/types.ts';
import { emailKeyOf, iso, passwordAdvice, presentAccount, presentSession, startSession } from '../identity/index.ts';
import { accessInstance, roleAtLeast } from './instance.access.ts';
import {
  completeSetup,
  createInstance,
  createInvite,
  isSetupRequired,
  listInstanceMembers,
  revokeInstanceSessions,
  revokeMemberSessions,
  setMemberRole,
  signUp,
  updateInstance,
} from './instance.actions.ts';
import { presentInstance, presentMember } from './instance.presenter.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };

const SIGNUP_ANSWER = {
  status: 'accepted',
  next: 'login',
  message: 'If this email can join, it has: log in with it now. If you already had an account, use its password.',
} as const;

export const registerInstanceRoutes = (app: App, ctx: AppContext): void => {
  // Session-only (no API token): ending sessions. API tokens: reading needs read, administration admin.
  const authGuard = createAuthGuard(ctx);
  const readGuard = createAuthGuard(ctx, { scope: 'read' });
  const adminGuard = createAuthGuard(ctx, { scope: 'admin' });
  const ipLimit = perIpLimit(ctx.config.authRateLimitPerIp);

  app.get('/api/v1/setup', { schema: { tags: ['setup'], summary: 'Whether the server still awaits its first setup', response: { 200: SetupStatus } } }, async () => ({
    required: await isSetupRequired(ctx),
  }));

  app.post(
    '/api/v1/setup',
    {
      schema: {
        tags: ['setup'],
        summary: 'Create the first instance and its owner with the setup token printed at start-up',
        body: SetupRequest,
        response: { 201: Type.Intersect([LoginResponse, Type.Object({ instance: Instance })]), ...errors },
      },
      config: ipLimit,
    },
    async (request, reply) => {
      const { account, instance } = await completeSetup(ctx, request.body);
      const { token, session } = await startSession(ctx, account.id, { client: clientOf(request) });
      setSessionCookie(reply, ctx.config, token, session.expires_at);
      const advice = passwordAdvice(request.body.owner.password);
      return reply.code(201).send({
        account: presentAccount(account),
        session: presentSession(session),
        csrfToken: csrfTokenFor(token),
        instance: presentInstance(instance),
        ...(advice ? { passwordAdvice: advice } : {}),
      });
    },
  );

  app.post(
    '/api/v1/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign up to an instance; answers the same whether or not the email already has an account',
        body: SignupRequest,
        response: { 202: SignupResponse, ...errors },
      },
      config: ipLimit,
      preHandler: [perAccountLimit(app, ctx.config.authRateLimitPerAccount, bodyEmailKey((email) => emailKeyOf(ctx, email)))],
    },
    async (request, reply) => {
      await signUp(ctx, request.body);
      return reply.code(202).send(SIGNUP_ANSWER);
    },
  );

  app.post(
    '/api/v1/instances',
    { schema: { tags: ['instances'], summary: 'Create an instance (operators)', body: CreateInstanceRequest, response: { 201: Instance, ...errors } }, preHandler: [adminGuard] },
    async (request, reply) => reply.code(201).send(presentInstance(await createInstance(ctx, actorOf(request), request.body))),
  );

  app.get(
    '/api/v1/instances/:instanceId',
    { schema: { tags: ['instances'], summary: 'An instance you belong to', params: InstanceParams, response: { 200: Instance, ...errors } }, preHandler: [readGuard] },
    async (request) => presentInstance((await accessInstance(ctx, actorOf(request), request.params.instanceId)).instance),
  );

  app.patch(
    '/api/v1/instances/:instanceId',
    {
      schema: { tags: ['instances'], summary: 'Rename an instance, change who may sign up or who must use two-factor authentication (admins)', params: InstanceParams, body: UpdateInstanceRequest, response: { 200: Instance, ...errors } },
      preHandler: [adminGuard],
    },
    async (request) => presentInstance(await updateInstance(ctx, actorOf(request), request.params.instanceId, request.body)),
  );

  app.get(
    '/api/v1/instances/:instanceId/members',
    { schema: { tags: ['instances'], summary: 'Members of an instance', params: InstanceParams, response: { 200: MemberList, ...errors } }, preHandler: [readGuard] },
    async (request) => {
      const access = await accessInstance(ctx, actorOf(request), request.params.instanceId);
      const withEmail = roleAtLeast(access.role, 'admin');
      return { members: (await listInstanceMembers(ctx, access.instance.id)).map((row) => presentMember(row, { withEmail })) };
    },
  );

  app.patch(
    '/api/v1/instances/:instanceId/members/:accountId',
    { schema: { tags: ['instances'], summary: 'Change a member\'s role (admins; ownership by owners)', params: MemberParams, body: SetRoleRequest, response: { 204: Type.Null(), ...errors } }, preHandler: [adminGuard] },
    async (request, reply) => {
      await setMemberRole(ctx, actorOf(request), request.params.instanceId, request.params.accountId, request.body.role);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/instances/:instanceId/invites',
    { schema: { tags: ['instances'], summary: 'Create an invite (admins); the token is shown once', params: InstanceParams, body: CreateInviteRequest, response: { 201: CreateInviteResponse, ...errors } }, preHandler: [adminGuard] },
    async (request, reply) => {
      const { invite, token } = await createInvite(ctx, actorOf(request), request.params.instanceId, request.body);
      return reply.code(201).send({ id: invite.id, token, role: invite.role, expiresAt: iso(invite.expires_at) });
    },
  );

  app.post(
    '/api/v1/instances/:instanceId/sessions/revoke',
    { schema: { tags: ['instances'], summary: 'End every session\'s access to this instance (admins)', params: InstanceParams, response: { 204: Type.Null(), ...errors } }, preHandler: [authGuard] },
    async (request, reply) => {
      await revokeInstanceSessions(ctx, actorOf(request), request.params.instanceId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/instances/:instanceId/members/:accountId/sessions/revoke',
    {
      schema: { tags: ['instances'], summary: 'End one member\'s sessions\' and API tokens\' access to this instance (admins)', params: MemberParams, response: { 204: Type.Null(), ...errors } },
      preHandler: [authGuard],
    },
    async (request, reply) => {
      await revokeMemberSessions(ctx, actorOf(request), request.params.instanceId, request.params.accountId);
      return reply.code(204).send(null);
    },
  );
};
