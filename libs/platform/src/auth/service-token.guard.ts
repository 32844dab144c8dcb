import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { CONFIG, PlatformConfig } from '../config/config';

export const SERVICE_TOKEN_HEADER = 'x-service-token';

export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const y = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Guards the internal API that channel services call: a shared service token, constant-time compared. */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  constructor(@Inject(CONFIG) private readonly config: PlatformConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const token = req.headers[SERVICE_TOKEN_HEADER];
    if (!token || !safeEqual(token, this.config.SERVICE_TOKEN))
      throw new UnauthorizedException('invalid service token');
    return true;
  }
}
