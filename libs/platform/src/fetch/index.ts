export * from './address-policy';
export * from './host-patterns';
export * from './safe-fetch';
