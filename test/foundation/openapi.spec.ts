import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { SERVICES } from '../support/services';
import { createHttpApp, HTTP_METHODS } from '@oq/platform';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** Operations that take no request body although their method could have one. */
const NO_BODY = new Set([
  'ticket-service POST /v1/admin/dead-letters/{id}/replay',
  'ticket-service POST /v1/admin/suppressed-mail/{id}/release',
  'chat-service POST /chat/{inboxId}/visitors',
]);

type Operation = {
  operationId: string;
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
};
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, object> };
};

function operations(doc: Doc): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m): [string, Operation] => [`${m.toUpperCase()} ${path}`, item[m]]),
  );
}

/** Every `$ref` in the document, with where it is. */
function refs(value: unknown, at = '#', found: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => refs(v, `${at}/${i}`, found));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref') found.push([at, String(v)]);
      else refs(v, `${at}/${k}`, found);
    }
  return found;
}

/** Handlers that read a body (@Body), as `Controller_method` (Nest's operationId). */
function bodyHandlers(app: NestFastifyApplication): Set<string> {
  const found = new Set<string>();
  for (const module of app.get(ModulesContainer).values())
    for (const wrapper of module.controllers.values()) {
      const ctrl = wrapper.metatype as Type<unknown> | undefined;
      if (!ctrl) continue;
      for (const method of Object.getOwnPropertyNames(ctrl.prototype)) {
        const args: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, ctrl, method) ?? {};
        if (Object.keys(args).some((k) => k.split(':')[0] === String(RouteParamtypes.BODY)))
          found.add(`${ctrl.name}_${method}`);
      }
    }
  return found;
}

describe('the OpenAPI documents', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  const inboxApi = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
  const docs = new Map<string, { doc: Doc; bodies: Set<string> }>();

  beforeAll(async () => {
    db = await createTestDatabase();
    await new Promise<void>((r) => inboxApi.listen(0, '127.0.0.1', r));
    const ticketServiceUrl = `http://127.0.0.1:${(inboxApi.address() as AddressInfo).port}`;
    for (const [name, module] of SERVICES) {
      const app = await createHttpApp(module, {
        title: name,
        env: testServiceEnv(db, prefix, { TICKET_SERVICE_URL: ticketServiceUrl }),
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const res = await fetch(`${await app.getUrl()}/docs-json`);
        expect(res.status).toBe(200);
        docs.set(name, { doc: (await res.json()) as Doc, bodies: bodyHandlers(app) });
      } finally {
        await app.close();
      }
    }
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    await dropQueuePrefix(prefix);
    await new Promise((r) => inboxApi.close(r));
  });

  it.each(SERVICES.map(([name]) => name))('%s: valid OpenAPI 3.1 (swagger-parser), no empty $ref', async (name) => {
    const { doc } = docs.get(name)!;
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    const broken = refs(doc).filter(([, ref]) => {
      const m = /^#\/components\/schemas\/(.*)$/.exec(ref);
      return !m || !m[1] || !doc.components?.schemas?.[m[1]];
    });
    expect(broken).toEqual([]);
  });

  it.each(SERVICES.map(([name]) => name))('%s: every schema is valid JSON Schema 2020-12 (ajv strict)', (name) => {
    const { doc } = docs.get(name)!;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    const rewrite = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(rewrite)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v).map(([k, x]) => [
                k,
                k === '$ref' ? String(x).replace('#/components/schemas/', 'doc#/$defs/') : rewrite(x),
              ]),
            )
          : v;
    ajv.addSchema({ $id: 'doc', $defs: rewrite(doc.components?.schemas ?? {}) as object });
    const schemas: [string, unknown][] = [];
    for (const [key, op] of operations(doc)) {
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        schemas.push([`${key} request ${type}`, media.schema]);
      for (const [status, response] of Object.entries(op.responses))
        for (const [type, media] of Object.entries(response.content ?? {}))
          schemas.push([`${key} ${status} ${type}`, media.schema]);
      for (const p of (op as { parameters?: { name: string; schema?: unknown }[] }).parameters ?? [])
        schemas.push([`${key} parameter ${p.name}`, p.schema]);
    }
    const invalid = schemas.flatMap(([where, schema]) => {
      try {
        ajv.compile(rewrite(schema ?? {}) as object);
        return [];
      } catch (err) {
        return [`${where}: ${(err as Error).message}`];
      }
    });
    expect(invalid).toEqual([]);
  });

  it.each(SERVICES.map(([name]) => name))(
    '%s: every operation documents a success response and its errors, and every body',
    (name) => {
      const { doc, bodies } = docs.get(name)!;
      const problems: string[] = [];
      for (const [key, op] of operations(doc)) {
        const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
        if (!success.length) problems.push(`${key}: no 2xx response`);
        for (const [status, response] of success) {
          const media = Object.entries(response.content ?? {});
          if (status !== '204' && !media.length) problems.push(`${key}: ${status} has no content`);
          for (const [type, m] of media) if (!m.schema) problems.push(`${key}: ${status} ${type} has no schema`);
        }
        if (!Object.keys(op.responses).some((s) => /^[45]/.test(s))) problems.push(`${key}: no error response`);
        for (const [status, response] of Object.entries(op.responses))
          if (/^[45]/.test(status) && !response.content?.['application/json']?.schema)
            problems.push(`${key}: error ${status} has no JSON schema`);
        const body = op.requestBody;
        const media = Object.entries(body?.content ?? {});
        if (body && (!media.length || media.some(([, m]) => !m.schema)))
          problems.push(`${key}: request body without a schema`);
        if (bodies.has(op.operationId) && !body) problems.push(`${key}: reads @Body but documents no request body`);
        if (/^(POST|PUT|PATCH) /.test(key) && !body && !NO_BODY.has(`${name} ${key}`))
          problems.push(`${key}: no request body (list it in NO_BODY if it takes none)`);
      }
      expect(problems).toEqual([]);
    },
  );

  it('social-service documents its webhooks', () => {
    const keys = operations(docs.get('social-service')!.doc).map(([k]) => k);
    expect(keys.sort()).toEqual([
      'GET /webhooks/meta/{inboxId}',
      'POST /webhooks/meta/{inboxId}',
      'POST /webhooks/telegram/{inboxId}',
    ]);
  });
});
