export * from './address-policy';
export * from './safe-fetch';
// Host lists are part of inbox settings, so their grammar lives in libs/contracts; re-exported for fetch callers.
export {
  HostAllowList,
  HostPatternEntry,
  canonicalHost,
  hostMatches,
  parseHostList,
  parseHostPattern,
} from '@oq/contracts';
export type { HostPattern } from '@oq/contracts';
