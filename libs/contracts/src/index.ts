export * from './queues';
export * from './common';
export * from './payloads';
export * from './jobs';
export * from './job-policy';
export * from './card-numbers';
export * from './email-threading';
export * from './internal-api';
