import { Controller, Get, NotFoundException, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { build } from 'esbuild';
import type { FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ChatInboxes } from '../inboxes/inbox-directory.service';
import { demoPage } from './demo-page';

/** The widget's TypeScript source: next to src/ in the repo; dist/ runs from the same checkout. */
function widgetSource(): string {
  const candidates = [
    resolve(__dirname, '..', '..', 'widget', 'widget.ts'),
    resolve(__dirname, '..', '..', '..', '..', '..', 'apps', 'chat-service', 'widget', 'widget.ts'),
    join(process.cwd(), 'apps', 'chat-service', 'widget', 'widget.ts'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`chat widget source not found (looked in ${candidates.join(', ')})`);
  return found;
}

let bundle: Promise<string> | undefined;

/** Bundles the widget (with socket.io-client) once per process, on first request. */
export function widgetBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [widgetSource()],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2019'],
    minify: true,
    legalComments: 'none',
  })
    .then((r) => r.outputFiles[0].text)
    .catch((err) => {
      bundle = undefined;
      throw err;
    });
  return bundle;
}

@ApiExcludeController()
@Controller('widget')
export class WidgetController {
  constructor(private readonly inboxes: ChatInboxes) {}

  @Get('widget.js')
  async script(@Res() reply: FastifyReply) {
    const js = await widgetBundle();
    return reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(js);
  }

  /** A demo wallet page embedding the widget: `?inbox=<id>` (default: the first chat inbox). */
  @Get('demo')
  async demo(@Query('inbox') inboxId: string | undefined, @Res() reply: FastifyReply) {
    const inbox = inboxId ? await this.inboxes.get(inboxId) : this.inboxes.all()[0];
    if (!inbox) throw new NotFoundException('no chat inbox configured: create one in ticket-service first');
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:",
      )
      .send(demoPage(inbox.id, inbox.name));
  }
}
