export * from './data-source';
export * from './database.module';
export * from './entities';
export * from './repositories';
export * from './sql/db';
export * from './sql/sql';
