import { BadRequestException, PipeTransform } from '@nestjs/common';
import { findUnstorableText } from '@oq/contracts';
import { z } from 'zod';

/** Validates a body/query with a zod schema; 400 lists every offending field. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (!result.success) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'validation failed',
        fields: result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
      });
    }
    // An agent's or client's text that Postgres cannot store is their error to fix, not a 500 later.
    const unstorable = findUnstorableText(result.data);
    if (unstorable !== null)
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'validation failed',
        fields: [{ path: unstorable, message: 'contains U+0000 or an unpaired surrogate, which cannot be stored' }],
      });
    return result.data;
  }
}
