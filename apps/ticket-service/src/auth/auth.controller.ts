import { Body, Controller, Get, HttpCode, Ip, Post, Put, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BodyLimit, ZodValidationPipe } from '@oq/platform';
import { FastifyReply } from 'fastify';
import { AgentAuth, CurrentAgent } from './agent-auth.guard';
import { LoginBody, PresenceBody } from './auth.dto';
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
  async login(
    @Body(new ZodValidationPipe(LoginBody)) body: LoginBody,
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
  me(@CurrentAgent() agent: AuthenticatedAgent) {
    return this.auth.profile(agent.id);
  }

  @Put('agents/me/presence')
  @AgentAuth()
  presence(@CurrentAgent() agent: AuthenticatedAgent, @Body(new ZodValidationPipe(PresenceBody)) body: PresenceBody) {
    return this.auth.setPresence(agent, body.presence);
  }
}
