import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
  applyDecorators,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors } from '@oq/platform';
import { AuthenticatedAgent } from './authenticated-agent';
import { TokenService } from './token.service';

const ADMIN_ONLY = 'oq:admin-only';

type AgentRequest = { headers: Record<string, string | undefined>; agent?: AuthenticatedAgent };

/**
 * Bearer JWT → the agent, loaded fresh from the database on every request (401 when
 * the token is missing, invalid, expired, older than the agent's last password change, or
 * the agent is unknown or deactivated).
 * Routes marked @AdminOnly() additionally answer 403 to non-admins.
 */
@Injectable()
export class AgentAuthGuard implements CanActivate {
  constructor(
    private readonly tokens: TokenService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AgentRequest>();
    // Applied at class and method level (@AdminOnly adds it too): authenticate once per request.
    if (!req.agent) {
      const header = req.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new UnauthorizedException('missing bearer token');
      const result = await this.tokens.authenticate(match[1]);
      if (!result.ok) throw new UnauthorizedException(result.reason);
      req.agent = result.agent;
    }
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [ctx.getHandler(), ctx.getClass()]);
    if (adminOnly && req.agent.role !== 'admin') throw new ForbiddenException('admin role required');
    return true;
  }
}

/** Requires an authenticated agent (bearer JWT). */
export const AgentAuth = () =>
  applyDecorators(
    UseGuards(AgentAuthGuard),
    ApiBearerAuth(),
    ApiErrors({ 401: 'No bearer token, or it is invalid, expired, revoked, or its agent is deactivated' }),
  );

/** Requires an authenticated admin: 401 without a valid token, 403 for a non-admin agent. */
export const AdminOnly = () =>
  applyDecorators(SetMetadata(ADMIN_ONLY, true), AgentAuth(), ApiErrors({ 403: 'The caller is not an admin' }));

/** The calling agent `{ id, role, teamIds }`; use behind AgentAuthGuard. */
export const CurrentAgent = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthenticatedAgent => {
  const agent = ctx.switchToHttp().getRequest<AgentRequest>().agent;
  if (!agent) throw new UnauthorizedException('not authenticated');
  return agent;
});
