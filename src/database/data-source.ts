// The DataSource the typeorm CLI uses (`npm run migration:run`): DATABASE_URL must name the server;
// DATABASE_DIRECT_URL first when set (behind PgBouncer in transaction mode: docs/pgbouncer.md).
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readDotEnv } from '../config/config';
import { dataSourceOptions } from './data-source-options';

readDotEnv();
const url = process.env.DATABASE_DIRECT_URL || process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL must be set for the typeorm CLI (the embedded database migrates itself at start)');
  process.exit(1);
}
export default new DataSource(dataSourceOptions(url));
