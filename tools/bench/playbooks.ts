/** Playbooks generated for the benchmarks (shared so that every bench measures the same shapes). */

/** One parallel loop of `n` noop iterations with `max_in_flight: mif`. */
export function loopYaml(n: number, mif: number): string {
  return [
    'apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_loop, path: bench/loop }',
    `workload: { n: ${n} }`,
    'workflow:',
    '  - step: start',
    '    loop:',
    '      in: "{{ range(n) | list }}"',
    '      iterator: i',
    `      spec: { mode: parallel, max_in_flight: ${mif} }`,
    '    tool: { kind: noop }',
  ].join('\n');
}
