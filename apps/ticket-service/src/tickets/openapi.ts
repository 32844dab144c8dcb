import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';

type JsonSchema = { properties?: Record<string, object>; required?: string[] };

/** Documents a zod-validated body in /docs from the same schema the pipe enforces. */
export function ApiZodBody(schema: z.ZodType) {
  return ApiBody({ schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as object });
}

/** Documents each field of a zod-validated query object as a query parameter. */
export function ApiZodQuery(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, s]) =>
      ApiQuery({ name, required: json.required?.includes(name) ?? false, schema: s }),
    ),
  );
}

/**
 * The parsed type of a zod schema. Bodies and queries are annotated with this
 * rather than the schema's same-named type: decorator metadata would otherwise
 * point Swagger at the zod object as if it were a DTO class.
 */
export type Parsed<S extends z.ZodType> = z.infer<S>;
