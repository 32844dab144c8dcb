export * from './schedule';
export * from './policy';
export * from './clock';
export * from './rows';
export * from './schedule-schema';
export * from './business-hours';
