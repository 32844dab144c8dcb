import { Body, Controller, Get, HttpCode, Ip, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { AgentAuth, CurrentAgent } from './agent-auth.guard';
import { LoginBody, PresenceBody } from './auth.dto';
import { AuthService } from './auth.service';
import { AuthenticatedAgent } from './authenticated-agent';

@ApiTags('auth')
@Controller('v1')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @HttpCode(200)
  login(@Body(new ZodValidationPipe(LoginBody)) body: LoginBody, @Ip() ip: string) {
    return this.auth.login(body.email, body.password, ip);
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
