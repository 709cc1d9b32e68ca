import { readFileSync } from 'fs';
import { parseYamlSource } from '../src/yaml-source';
import { NormContext } from '../src/context';
import { DiagnosticSink } from '../src/diagnostic-sink';
import { normalizeRoot } from '../src/normalize';
import { validateReferences, validateTemplates } from '../src/validate';
import { analyzeGraph } from '../src/graph';
import { TemplateAnalyzer } from '../src/templates';
import { DEFAULT_TOOL_KINDS } from '../src/codes';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const p = parseYamlSource(readFileSync('/tmp/mixed.yaml', 'utf8'));
for (let k = 0; k < 15; k++) {
  let t = cpu();
  const sink = new DiagnosticSink(p.index); const ctx = new NormContext(sink, { compat: false, strict: false, toolKinds: new Set(DEFAULT_TOOL_KINDS) });
  const an = new TemplateAnalyzer();
  const r = normalizeRoot(ctx, p.value); const a = cpu() - t; t = cpu();
  validateReferences(ctx, r.draft!, r.facts, r.entryPath); validateTemplates(ctx, an); const b = cpu() - t; t = cpu();
  analyzeGraph(r.draft!.steps, 'start', an); const c = cpu() - t;
  if (k > 9) console.log({ normalize: a, validate: b, graph: c });
}
