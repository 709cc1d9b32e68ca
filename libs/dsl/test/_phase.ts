import { parseYamlSource } from '../src/yaml-source';
import { NormContext } from '../src/context';
import { DiagnosticSink } from '../src/diagnostic-sink';
import { normalizeRoot } from '../src/normalize';
import { validateReferences, validateTemplates } from '../src/validate';
import { analyzeGraph } from '../src/graph';
import { TemplateAnalyzer } from '../src/templates';
import { streamingDigest } from '../src/digest';
import { withoutLocs } from '../src/load';
import { DEFAULT_TOOL_KINDS } from '../src/codes';
const n = Number(process.argv[2] ?? 2000);
const head = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo }\nworkflow:\n';
const steps = Array.from({ length: n }, (_, i) => `  - { step: ${i === 0 ? 'start' : `s${i}`}, tool: { kind: noop }, next: { arcs: [ { step: ${i + 1 < n ? `s${i + 1}` : 'start'} } ] } }\n`).join('');
const text = head + steps;
console.log('bytes', text.length);
for (let k = 0; k < 4; k++) {
  const T: Record<string, number> = {}; let t = performance.now();
  const lap = (name: string) => { const now = performance.now(); T[name] = Math.round(now - t); t = now; };
  const p = parseYamlSource(text); lap('parse');
  const sink = new DiagnosticSink(p.index); const ctx = new NormContext(sink, { compat: false, strict: false, toolKinds: new Set(DEFAULT_TOOL_KINDS) });
  const an = new TemplateAnalyzer();
  const r = normalizeRoot(ctx, p.value); lap('normalize');
  validateReferences(ctx, r.draft!, r.facts, r.entryPath); validateTemplates(ctx, an); lap('validate');
  const g = analyzeGraph(r.draft!.steps, 'start', an); lap('graph');
  const pb = { ...r.draft!, graph: g, digest: '' };
  const w = withoutLocs(pb as any); lap('strip');
  streamingDigest(w); lap('digest');
  console.log(JSON.stringify(T));
}
{
  const p = parseYamlSource(text);
  const sink = new DiagnosticSink(p.index); const ctx = new NormContext(sink, { compat: false, strict: false, toolKinds: new Set(DEFAULT_TOOL_KINDS) });
  const r = normalizeRoot(ctx, p.value);
  for (let i = 0; i < 5; i++) { const t = performance.now(); analyzeGraph(r.draft!.steps, 'start', new TemplateAnalyzer()); console.log('graph', Math.round(performance.now() - t)); }
}
