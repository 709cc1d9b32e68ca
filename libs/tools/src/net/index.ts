// Network tools (http, postgres, nats, artifact/result_fetch, playbook). Owned by the net-tools work.
import type { ToolHandler } from '../types';
import { createArtifactTool, createResultFetchTool, type ArtifactToolOptions } from './artifact-tool';
import { createHttpTool, type HttpToolOptions } from './http-tool';
import { createNatsTool, type NatsToolOptions } from './nats-tool';
import { createPlaybookTool } from './playbook-tool';
import { createPostgresTool, type PostgresToolOptions } from './postgres-tool';

export { createHttpTool, parseRetryAfter, DEFAULT_MAX_RESPONSE_BYTES } from './http-tool';
export type { HttpToolOptions, HttpResult } from './http-tool';
export { createPostgresTool, pgErrorKind } from './postgres-tool';
export type { PostgresToolOptions, PgStatementResult } from './postgres-tool';
export { pgTypes } from './pg-values';
export { postgresCredentialFromUrl } from './postgres-credential';
export type { PostgresCredential } from './postgres-credential';
export { createNatsTool } from './nats-tool';
export type { NatsToolOptions } from './nats-tool';
export { createArtifactTool, createResultFetchTool } from './artifact-tool';
export type { ArtifactToolOptions } from './artifact-tool';
export { createPlaybookTool } from './playbook-tool';

export interface NetToolsOptions {
  http?: HttpToolOptions;
  postgres?: PostgresToolOptions;
  nats?: NatsToolOptions;
  artifact?: ArtifactToolOptions;
}

/**
 * Every network tool kind, ready for `ToolRegistry.register`: `http`, `postgres`, `nats`,
 * `artifact`, `result_fetch` (its own handler: the alias defaults `action` to `get`) and
 * `playbook`. `ToolRegistry.close()` releases pools and connections.
 *
 * @example
 * const registry = new ToolRegistry();
 * for (const h of createNetTools()) registry.register(h);
 */
export function createNetTools(opts: NetToolsOptions = {}): ToolHandler[] {
  return [
    createHttpTool(opts.http),
    createPostgresTool(opts.postgres),
    createNatsTool(opts.nats),
    createArtifactTool(opts.artifact),
    createResultFetchTool(opts.artifact),
    createPlaybookTool(),
  ];
}
