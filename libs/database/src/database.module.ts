import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CONFIG, PlatformConfig } from '@oq/platform/config/config';
import { assertNoPendingMigrations, createDataSource } from './data-source';
import { REPOSITORIES } from './repositories';

class DataSourceLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}
  async onApplicationShutdown() {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** Provides the DataSource and every repository; the service refuses to boot while migrations are pending. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [CONFIG],
      useFactory: async (config: PlatformConfig) => {
        const ds = createDataSource({
          url: config.DATABASE_URL,
          poolSize: config.DB_POOL_SIZE,
          applicationName: config.SERVICE_NAME,
        });
        await ds.initialize();
        try {
          await assertNoPendingMigrations(ds);
        } catch (err) {
          await ds.destroy();
          throw err;
        }
        return ds;
      },
    },
    DataSourceLifecycle,
    ...REPOSITORIES,
  ],
  exports: [DataSource, ...REPOSITORIES],
})
export class DatabaseModule {}
