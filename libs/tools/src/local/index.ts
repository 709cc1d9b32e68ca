// Process-local tools (python pool, shell, noop, duckdb). Owned by the local-tools work.
export {};
