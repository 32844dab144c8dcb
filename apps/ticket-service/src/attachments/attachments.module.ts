import multipart from '@fastify/multipart';
import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { AttachmentsController } from './attachments.controller';
import { AttachmentsService } from './attachments.service';
import { BlobGcService } from './blob-gc.service';

@Module({
  controllers: [AttachmentsController],
  providers: [AttachmentsService, BlobGcService],
  exports: [AttachmentsService],
})
export class AttachmentsModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Multipart parsing for uploads only; limits are set per request by the controller. */
  async onModuleInit() {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    if (!fastify.hasContentTypeParser('multipart/form-data')) await fastify.register(multipart);
  }
}
