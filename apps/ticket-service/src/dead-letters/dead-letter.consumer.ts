import { Injectable } from '@nestjs/common';
import { DeadLetterJob, JobName } from '@oq/contracts';
import { JobHandler } from '@oq/platform';
import { Job } from 'bullmq';
import { DeadLetterService } from './dead-letter.service';

/**
 * Dead letters from the channel services, which acknowledge input without a database of their
 * own: a signed body they cannot parse, a job that failed for good. Kept with the exact bytes.
 * The job id is deterministic per source job, and a retry after a lost completion finds the row.
 */
@Injectable()
export class DeadLetterConsumer {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @JobHandler(JobName.DeadLetter)
  async handle(letter: DeadLetterJob, job: Job): Promise<{ deadLetterId: string }> {
    const id = await this.deadLetters.recordOnce(`dead-letter:${job.id}`, {
      queue: letter.queue,
      jobName: letter.jobName,
      jobId: letter.jobId ?? null,
      payload: Buffer.from(letter.payloadBase64, 'base64'),
      reason: `${letter.service}: ${letter.reason}`,
    });
    return { deadLetterId: id };
  }
}
