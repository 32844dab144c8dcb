export * from './schedule';
export * from './policy';
export * from './clock';
export * from './rows';
