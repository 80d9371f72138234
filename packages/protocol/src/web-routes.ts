/**
 * The web client's pages. The client's router matches them, and the server answers each with the client's
 * index.html, so a reload or a link from a mail (the reset link) opens the right page. Nothing else is a
 * client page: /api/*, /status*, the stream and unknown paths keep their own answers. A new page is added here.
 */
export const WEB_ROUTES = {
  home: '/',
  setup: '/setup',
  login: '/login',
  signup: '/signup',
  forgotPassword: '/forgot-password',
  /** The reset mail links here with the token after #token=, so it never reaches a server log. */
  resetPassword: '/reset-password',
  instance: '/instances/:instanceId',
  room: '/rooms/:roomId',
  /** The incident console (operators; decision 0015): the incidents, and one incident's page. */
  incidents: '/operator/incidents',
  incident: '/operator/incidents/:ref',
  /** Your profile, password, sessions, two-factor authentication and API tokens. */
  account: '/account',
  /** An instance's people and its access report (its admins). */
  administration: '/instances/:instanceId/administration',
} as const;

export type WebRoute = keyof typeof WEB_ROUTES;
