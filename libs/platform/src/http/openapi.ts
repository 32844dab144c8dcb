import { createHash } from 'node:crypto';
import { INestApplication, applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiExtension,
  ApiParam,
  ApiQuery,
  ApiResponse,
  DocumentBuilder,
  SwaggerModule,
} from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * The OpenAPI documents of every service, generated from the zod schemas that validate requests
 * and describe responses. The documents are OpenAPI 3.1, whose Schema Objects are JSON Schema
 * 2020-12: zod's own target, and what ajv checks real responses against in tests (openapi-contract.ts).
 * A zod schema with `.meta({ id })` becomes a named component (`#/components/schemas/<id>`);
 * everything else is inlined.
 */
export const OPENAPI_VERSION = '3.1.0';

export type JsonSchema = Record<string, unknown>;

/** Named schemas met while decorating, by name; a document takes those it references. */
const components = new Map<string, { schema: JsonSchema; json: string }>();

/**
 * The JSON Schema of a zod schema: `input` for what a client sends (defaults and coercions make
 * fields optional or strings), `output` for what the service answers (objects closed: a field
 * the schema does not name is a contract violation).
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const {
    $schema: _,
    $defs,
    ...root
  } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // Transforms and refinements have no JSON Schema; the schema before them is documented.
    unrepresentable: 'any',
  }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const renames = new Map<string, string>();
  // Recursive schemas without an id get generated names: name them by their content instead.
  for (const [name, def] of Object.entries($defs ?? {}))
    if (name.startsWith('__'))
      renames.set(name, `Schema_${createHash('sha256').update(JSON.stringify(def)).digest('hex').slice(0, 10)}`);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
          const name = v.slice('#/$defs/'.length);
          return [k, `#/components/schemas/${renames.get(name) ?? name}`];
        }
        return [k, rewrite(v)];
      }),
    );
  };
  for (const [name, def] of Object.entries($defs ?? {}))
    registerComponent(renames.get(name) ?? name, rewrite(def) as JsonSchema);
  return rewrite(root) as JsonSchema;
}

function registerComponent(name: string, schema: JsonSchema) {
  const json = JSON.stringify(schema);
  const known = components.get(name);
  if (known && known.json !== json)
    throw new Error(
      `OpenAPI component ${name} is defined twice with different schemas (an id used for both a request and a ` +
        `response, or two schemas with one id): give them different ids`,
    );
  components.set(name, { schema, json });
}

/**
 * Atoms of response schemas: the formats are documented (and checked by ajv in tests) without
 * zod's long patterns, which only matter where zod parses (requests).
 */
export const ApiUuid = z.string().meta({ format: 'uuid' });
export const ApiDateTime = z.string().meta({ format: 'date-time' });
export const ApiSha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * What every service answers on an error: Nest's HttpException body (`statusCode`, `message`,
 * `error`) with what the pipes and services add, or Fastify's own refusal (`code` FST_…).
 */
export const ErrorBody = z
  .object({
    statusCode: z.number().int().min(400).max(599),
    message: z.string(),
    /** The status' reason phrase, e.g. "Bad Request" (absent on some refusals). */
    error: z.string().optional(),
    /** Fastify's error code (e.g. FST_ERR_CTP_BODY_TOO_LARGE) when Fastify refused the request itself. */
    code: z.string().optional(),
    /** 400 "validation failed": each offending field (a dotted path, or `(body)`) and what is wrong with it. */
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /** A machine-readable reason, e.g. `stale_version`, `closed`, `card_number_in_reply`. */
    reason: z.string().optional(),
    /** The call record field a voice webhook refused. */
    field: z.string().optional(),
    /** 409 stale_version: the version the ticket is at now. */
    currentVersion: z.number().int().optional(),
    /** 429/503 on login: the same as the Retry-After header. */
    retryAfterSeconds: z.number().int().optional(),
  })
  .meta({ id: 'Error', description: 'An error: Nest HttpException JSON, or a refusal by Fastify' });

const ERROR_REF = openApiSchema(ErrorBody, 'output');
const errorContent = { 'application/json': { schema: ERROR_REF } };

/** Error responses of an operation (or of every operation of a controller), by status. */
export function ApiErrors(errors: Record<number, string>) {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, content: errorContent }),
    ),
  );
}

/**
 * One reason an operation answers 400. The document's 400 lists every reason an operation's
 * decorators gave, unless the operation describes its 400 itself (ApiErrors).
 */
export function ApiBadRequestReason(key: string, description: string) {
  return ApiExtension(`${BAD_REQUEST}${key}`, description);
}
const BAD_REQUEST = 'x-oq-400-';
const INVALID =
  'The request is invalid: malformed JSON, or a body or query field this operation does not accept (`fields` names each)';
const Validates = () => ApiBadRequestReason('request', INVALID);

/** A JSON request body validated with `schema` (ZodValidationPipe), documented from the same schema. */
export function ApiZodBody(schema: z.ZodType, options: { description?: string; required?: boolean } = {}) {
  return applyDecorators(
    ApiBody({
      schema: openApiSchema(schema, 'input'),
      required: options.required ?? true,
      description: options.description,
    }),
    Validates(),
  );
}

/** A request body that is not JSON: multipart, form-encoded or raw bytes. */
export function ApiRawBody(contentType: string, schema: JsonSchema, description?: string) {
  return applyDecorators(ApiConsumes(contentType), ApiBody({ schema, required: true, description }));
}

type ObjectSchema = { properties?: Record<string, JsonSchema>; required?: string[] };

/** Each field of a zod-validated query object as a query parameter. */
export function ApiZodQuery(schema: z.ZodType) {
  const json = openApiSchema(schema, 'input') as ObjectSchema;
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, s]) => {
      const { description, ...rest } = s as { description?: string } & JsonSchema;
      return ApiQuery({
        name,
        required: json.required?.includes(name) ?? false,
        schema: rest,
        ...(description && { description }),
        // Arrays are repeated (`?status=new&status=open`); the services also split commas.
        ...(rest.type === 'array' && { style: 'form', explode: true }),
      });
    }),
    Validates(),
  );
}

/** One query parameter read by the handler itself (@Query('name')). */
export function ApiZodQueryParam(name: string, schema: z.ZodType, description?: string) {
  const required = !schema.safeParse(undefined).success;
  return ApiQuery({ name, required, schema: openApiSchema(schema, 'input'), ...(description && { description }) });
}

/** A path parameter with its schema (Nest would document it as a bare string). */
export function ApiZodParam(name: string, schema: z.ZodType, description?: string) {
  return ApiParam({
    name,
    required: true,
    schema: openApiSchema(schema, 'input'),
    ...(description && { description }),
  });
}

/**
 * A JSON success response described by `schema`: what the handler returns (objects closed). A
 * schema with `.meta({ id })` is the component of that name.
 */
export function ApiZodResponse(status: number, schema: z.ZodType, description: string) {
  return ApiResponse({
    status,
    description,
    content: { 'application/json': { schema: openApiSchema(schema, 'output') } },
  });
}

/** A response that is not JSON: text, XML, or bytes (`*\/*` when it has the stored file's own type). */
export function ApiContentResponse(
  status: number,
  contentType: string,
  description: string,
  schema: JsonSchema = { type: 'string' },
) {
  return ApiResponse({ status, description, content: { [contentType]: { schema } } });
}

/** Bytes of a file, for ApiContentResponse and ApiRawBody. */
export const BINARY: JsonSchema = { type: 'string', contentMediaType: 'application/octet-stream' };

/** 204, no body. */
export function ApiNoContent(description: string) {
  return ApiResponse({ status: 204, description });
}

/**
 * The parsed type of a zod schema. Bodies and queries are annotated with this rather than the
 * schema's same-named type: decorator metadata would otherwise point Swagger at the zod object as
 * if it were a DTO class (an empty `$ref`).
 */
export type Parsed<S extends z.ZodType> = z.infer<S>;

const BODY_ERRORS: Record<string, string> = {
  '413': 'The body is larger than this operation accepts',
  '415': 'The Content-Type is not one this operation accepts',
};

/**
 * The service's OpenAPI document: what the controllers' decorators say, plus what the platform
 * answers on every operation (5XX; 400 where a request is validated or JSON is parsed, 413/415
 * where a body is read; an operation's own description of a status wins) and the components
 * referenced.
 */
export function createOpenApiDocument(app: INestApplication, title: string): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setOpenAPIVersion(OPENAPI_VERSION).setTitle(title).setVersion('1').addBearerAuth().build(),
  );
  for (const item of Object.values(document.paths))
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, OperationLike | undefined>)[method];
      if (!operation) continue;
      const responses = (operation.responses ??= {});
      const reasons = new Map<string, string>();
      // Every JSON body is parsed before the handler: malformed JSON is a 400 (json-body.ts).
      if (operation.requestBody?.content?.['application/json']) reasons.set(`${BAD_REQUEST}request`, INVALID);
      for (const [key, value] of Object.entries(operation))
        if (key.startsWith(BAD_REQUEST)) {
          reasons.set(key, String(value));
          delete operation[key];
        }
      if (reasons.size)
        responses['400'] ??= { description: [...reasons.values()].join('. Or: '), content: errorContent };
      if (operation.requestBody)
        for (const [status, description] of Object.entries(BODY_ERRORS))
          responses[status] ??= { description, content: errorContent };
      responses['5XX'] ??= {
        description: 'Internal error, or a dependency (Postgres, Redis, ticket-service) is unavailable',
        content: errorContent,
      };
    }
  const schemas: Record<string, JsonSchema> = { ...(document.components?.schemas as Record<string, JsonSchema>) };
  const pending = [...referencedComponents(document)];
  while (pending.length) {
    const name = pending.pop()!;
    if (schemas[name]) continue;
    const known = components.get(name);
    if (!known) continue;
    schemas[name] = known.schema;
    pending.push(...referencedComponents(known.schema));
  }
  document.components = { ...document.components, schemas: sortKeys(schemas) };
  return document;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type OperationLike = {
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, unknown>;
  [key: string]: unknown;
};

function referencedComponents(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencedComponents(v, found);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
        found.add(v.slice('#/components/schemas/'.length));
      else referencedComponents(v, found);
    }
  return found;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
