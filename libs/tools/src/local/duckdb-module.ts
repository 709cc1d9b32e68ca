import { lazyModule } from '../lazy';

/** @duckdb/node-api, loaded on first use (~0.3 s). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const duckdb = lazyModule(() => require('@duckdb/node-api') as typeof import('@duckdb/node-api'));
