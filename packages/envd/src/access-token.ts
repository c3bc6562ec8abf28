import { timingSafeEqual } from 'node:crypto';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { AgentState } from './agent-state.ts';

export const ACCESS_TOKEN_HEADER = 'x-access-token';

/** Whether a request may proceed: always before /init set a token, afterwards only with that token. */
export function tokenAccepted(state: AgentState, presented: string | null | undefined): boolean {
  if (state.accessToken === undefined) return true;
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(state.accessToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function tokenMessage(presented: string | null | undefined): string {
  return presented ? 'X-Access-Token does not match the sandbox access token' : 'X-Access-Token header is required';
}

/** The same check for every Connect method, answered as a Connect `unauthenticated` error. */
export function accessTokenInterceptor(state: AgentState): Interceptor {
  return (next) => async (request) => {
    const presented = request.header.get(ACCESS_TOKEN_HEADER);
    if (!tokenAccepted(state, presented)) throw new ConnectError(tokenMessage(presented), Code.Unauthenticated);
    return next(request);
  };
}
