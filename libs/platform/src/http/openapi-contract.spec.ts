import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Body, Controller, Get, HttpCode, Module, NotFoundException, Post, Res } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TEST_REDIS_URL } from '@oq/database/testing/test-env';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { BaseConfigSchema } from '../config/config';
import { PlatformModule } from '../platform.module';
import { createHttpApp } from './bootstrap';
import { ApiContentResponse, ApiErrors, ApiNoContent, ApiZodBody, ApiZodResponse, Parsed } from './openapi';
import { contractStore, readContractRecords } from './openapi-contract-store';
import { ZodValidationPipe } from './zod-validation.pipe';

const Thing = z.object({ name: z.string(), size: z.number().int() });

/** Routes that keep or break what they document. */
@Controller('probe')
class ProbeController {
  @Get('good')
  @ApiZodResponse(200, Thing, 'A thing')
  good() {
    return { name: 'a', size: 1 };
  }

  @Get('wrong-type')
  @ApiZodResponse(200, Thing, 'A thing')
  wrongType() {
    return { name: 'a', size: '1' };
  }

  @Get('extra-field')
  @ApiZodResponse(200, Thing, 'A thing')
  extraField() {
    return { name: 'a', size: 1, secret: 'x' };
  }

  @Get('undocumented-status')
  @ApiZodResponse(200, Thing, 'A thing')
  undocumentedStatus() {
    throw new NotFoundException('nope');
  }

  @Get('documented-error')
  @ApiZodResponse(200, Thing, 'A thing')
  @ApiErrors({ 404: 'Not there' })
  documentedError() {
    throw new NotFoundException('nope');
  }

  @Get('text-not-json')
  @ApiZodResponse(200, Thing, 'A thing')
  textNotJson(@Res() reply: FastifyReply) {
    return reply.header('content-type', 'text/plain').send('a thing');
  }

  @Get('text')
  @ApiContentResponse(200, 'text/plain', 'Some text')
  text(@Res() reply: FastifyReply) {
    return reply.header('content-type', 'text/plain; charset=utf-8').send('some text');
  }

  @Post('nothing')
  @HttpCode(204)
  @ApiZodBody(Thing)
  @ApiNoContent('Done')
  nothing(@Body(new ZodValidationPipe(Thing)) _body: Parsed<typeof Thing>) {}
}

@Module({
  imports: [PlatformModule.forRoot({ service: 'contract-probe', schema: BaseConfigSchema })],
  controllers: [ProbeController],
})
class ProbeModule {}

describe('the OpenAPI contract check', () => {
  let app: NestFastifyApplication;
  let base = '';
  const dir = mkdtempSync(join(tmpdir(), 'oq-contract-probe-'));

  beforeAll(async () => {
    app = await createHttpApp(ProbeModule, {
      title: 'probe',
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        REDIS_URL: TEST_REDIS_URL,
        SERVICE_TOKEN: 'test-service-token-0123456789abcdef',
        OPENAPI_CONTRACT_CHECK: 'true',
        OPENAPI_CONTRACT_DIR: dir,
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
    // This file breaks the contract on purpose: what it found is not the run's to report.
    contractStore().violations.splice(0);
  });

  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}/probe/${path}`, init);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), text };
  };

  it('lets through what the document says, and records the operation as answered', async () => {
    expect(await get('good')).toMatchObject({ status: 200, text: '{"name":"a","size":1}' });
    expect(await get('documented-error')).toMatchObject({ status: 404 });
    expect(await get('text')).toMatchObject({ status: 200, text: 'some text' });
    const nothing = await get('nothing', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"a","size":1}',
    });
    expect(nothing.status).toBe(204);
    // The platform's 400 for a body the pipe refuses is documented too.
    expect(
      (await get('nothing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    ).toBe(400);
    expect(contractStore().violations).toEqual([]);
    expect([...contractStore().exercised.get('contract-probe GET /probe/good')!]).toEqual([200]);
    expect(contractStore().documented.has('contract-probe GET /probe/good')).toBe(true);
  });

  it.each([
    ['wrong-type', 200, /\/size must be integer/],
    ['extra-field', 200, /must NOT have additional properties \(secret\)/],
    ['undocumented-status', 404, /status 404 is not documented \(documented: 200, 5XX\)/],
    ['text-not-json', 200, /Content-Type text\/plain is not documented for 200 \(documented: application\/json\)/],
  ])('replaces a response of %s that breaks the document by a 500 naming the violation', async (path, status, why) => {
    const res = await get(path);
    expect(res.status).toBe(500);
    const body = JSON.parse(res.text);
    expect(body.error).toBe('OpenAPI contract violation');
    expect(body.message).toContain(`contract-probe: GET /probe/${path} answered ${status}: `);
    expect(body.message).toMatch(why);
    const found = contractStore().violations.find((v) => v.path === `/probe/${path}`);
    expect(found).toMatchObject({ service: 'contract-probe', method: 'GET', status });
    // Recorded for the run's teardown too (services run as child processes report only there).
    expect(readContractRecords(dir).violations.some((v) => v.path === `/probe/${path}`)).toBe(true);
  });

  it('is off unless enabled: no hook, responses untouched', async () => {
    const off = await createHttpApp(ProbeModule, {
      title: 'probe',
      env: { NODE_ENV: 'test', LOG_LEVEL: 'silent', REDIS_URL: TEST_REDIS_URL, SERVICE_TOKEN: 'x'.repeat(24) },
    });
    await off.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${await off.getUrl()}/probe/wrong-type`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ name: 'a', size: '1' });
    } finally {
      await off.close();
    }
  });
});
