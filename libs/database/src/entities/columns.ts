/** Column options shared by the entity files. */
export const ts = { type: 'timestamptz' } as const;
export const tsNull = { type: 'timestamptz', nullable: true } as const;
/** `timestamptz NOT NULL DEFAULT now()` on a column TypeORM does not manage as a create/update date. */
export const tsNow = { type: 'timestamptz', default: () => 'now()' } as const;
