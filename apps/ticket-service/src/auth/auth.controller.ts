import { Body, Controller, Get, HttpCode, Ip, Post, Put, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiZodBody, ApiZodResponse, BodyLimit, Parsed, ZodValidationPipe } from '@oq/platform';
import { FastifyReply } from 'fastify';
import { AgentAuth, CurrentAgent } from './agent-auth.guard';
import { AgentProfileView, LoginBody, LoginResponse, PresenceBody } from './auth.dto';
import { AuthService } from './auth.service';
import { AuthenticatedAgent } from './authenticated-agent';
import { RetryLaterException } from './login-throttle';

@ApiTags('auth')
@Controller('v1')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @HttpCode(200)
  // Anyone may call it: LoginBody's 320 + 1024 characters at up to 3 UTF-8 bytes each, and no more.
  @BodyLimit(4 * 1024)
  @ApiOperation({ summary: 'Exchange an email and password for a bearer token' })
  @ApiZodBody(LoginBody)
  @ApiZodResponse(200, LoginResponse, 'The token and the agent it is for')
  @ApiErrors({
    401: 'Unknown email, wrong password or deactivated agent (one answer for all three)',
    429: 'Too many failed attempts for this email or address: Retry-After says when to try again',
    503: 'Too many logins are being checked right now: Retry-After says when to try again',
  })
  async login(
    @Body(new ZodValidationPipe(LoginBody)) body: Parsed<typeof LoginBody>,
    @Ip() ip: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    try {
      return await this.auth.login(body.email, body.password, ip);
    } catch (err) {
      // 429 (throttled) and 503 (no hashing slot) say when to come back; the error filter keeps headers.
      if (err instanceof RetryLaterException) reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
  }

  @Get('auth/me')
  @AgentAuth()
  @ApiOperation({ summary: 'The calling agent: profile, role and teams' })
  @ApiZodResponse(200, AgentProfileView, 'The calling agent')
  me(@CurrentAgent() agent: AuthenticatedAgent) {
    return this.auth.profile(agent.id);
  }

  @Put('agents/me/presence')
  @AgentAuth()
  @ApiOperation({ summary: "Set the calling agent's presence (online agents are offered chats)" })
  @ApiZodBody(PresenceBody)
  @ApiZodResponse(200, AgentProfileView, 'The calling agent with the new presence')
  presence(
    @CurrentAgent() agent: AuthenticatedAgent,
    @Body(new ZodValidationPipe(PresenceBody)) body: Parsed<typeof PresenceBody>,
  ) {
    return this.auth.setPresence(agent, body.presence);
  }
}
