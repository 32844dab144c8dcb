import { BadRequestException } from '@nestjs/common';

/** An impossible or unreadable call record: answered 400 naming the offending field, nothing stored. */
export class InvalidCallRecordError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'InvalidCallRecordError';
  }

  toHttp(): BadRequestException {
    return new BadRequestException({ statusCode: 400, error: 'Bad Request', field: this.field, message: this.message });
  }
}
