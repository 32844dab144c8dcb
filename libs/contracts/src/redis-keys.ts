/**
 * Redis key naming, one convention for every service: `<prefix>:<area>:<name>[:<id>…]`, where
 * the prefix is QUEUE_PREFIX — a hash tag such as `{oq}`, so every key of a deployment lives in
 * one Redis Cluster slot and Lua scripts may touch several — and the area names the owning
 * feature (auth, chat, email, sla, outbound). BullMQ's own keys are `<prefix>:<queue>:…`.
 * Area and name are lower-case words; the ids after them are any non-empty text (an address, a
 * composite key). Socket.io adapter channel names are pub/sub channels, not keys, and keep their
 * names (see docs Migration notes).
 */
const WORD = /^[a-z][a-z0-9-]*$/;

export function redisKey(prefix: string, area: string, name: string, ...ids: string[]): string {
  if (!/^\{[^{}]+\}$/.test(prefix)) throw new Error(`Redis key prefix ${JSON.stringify(prefix)} is not a hash tag`);
  for (const word of [area, name]) if (!WORD.test(word)) throw new Error(`bad Redis key word ${JSON.stringify(word)}`);
  for (const id of ids) if (!id) throw new Error(`empty id in Redis key ${prefix}:${area}:${name}`);
  return [prefix, area, name, ...ids].join(':');
}
