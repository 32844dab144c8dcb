export * from './outbound-gate';
