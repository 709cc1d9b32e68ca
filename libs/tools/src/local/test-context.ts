// Moved to ../testing.ts; this re-export only keeps tools/bench/python-pool.bench.ts (outside this lib) compiling.
export { makeTestContext } from '../testing';
