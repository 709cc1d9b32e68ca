import { ToolRegistry, createLocalTools, createNetTools } from '@noetl/tools';

/**
 * Every tool kind @noetl/tools provides, in one registry: the process-local kinds (python, shell,
 * noop, duckdb) and the network kinds (http, postgres, nats, artifact/result_fetch, playbook).
 * `kind: playbook` starts children through the runtime (`ToolContext.children`). The runtime
 * closes the registry (pools, processes) in `close()`. `NOETL_NATS_URL` is the nats tool's default server.
 */
export function createDefaultTools(opts: { env?: NodeJS.ProcessEnv } = {}): ToolRegistry {
  const env = opts.env ?? process.env;
  const reg = new ToolRegistry();
  for (const t of createLocalTools()) reg.register(t);
  for (const t of createNetTools(env.NOETL_NATS_URL ? { nats: { defaultUrl: env.NOETL_NATS_URL } } : {})) reg.register(t);
  return reg;
}
