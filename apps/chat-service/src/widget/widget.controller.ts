import { Controller, Get, NotFoundException, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ChatInboxes } from '../inboxes/inbox-directory.service';
import { demoPage } from './demo-page';
import { widgetBundle } from './widget-bundle';

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
