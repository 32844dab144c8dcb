import { Global, Module } from '@nestjs/common';
import { AgentAuthGuard } from './agent-auth.guard';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { LoginThrottle } from './login-throttle';
import { TokenService } from './token.service';

/** Global so every feature module can use @AgentAuth() / @AdminOnly() without importing it. */
@Global()
@Module({
  controllers: [AuthController],
  providers: [TokenService, AuthService, AgentAuthGuard, LoginThrottle],
  exports: [TokenService, AuthService, AgentAuthGuard],
})
export class AuthModule {}
