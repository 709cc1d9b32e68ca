const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
import { readFileSync } from 'fs';
import { parse } from 'yaml';
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
const text = readFileSync(process.argv[2] ?? '/tmp/mixed.yaml', 'utf8');
for (let k = 0; k < 5; k++) {
  const T: Record<string, number> = {}; let t = cpu();
  const lap = (name: string) => { const now = cpu(); T[name] = Math.round(now - t); t = now; };
  parse(text); lap('yaml.parse');
  const p = parseYamlSource(text); lap('parse');
  const sink = new DiagnosticSink(p.index); const ctx = new NormContext(sink, { compat: false, strict: false, toolKinds: new Set(DEFAULT_TOOL_KINDS) });
  const an = new TemplateAnalyzer();
  const r = normalizeRoot(ctx, p.value); lap('normalize');
  validateReferences(ctx, r.draft!, r.facts, r.entryPath); lap('xref'); validateTemplates(ctx, an); lap('templates');
  const g = analyzeGraph(r.draft!.steps, 'start', an); lap('graph');
  const pb = { ...r.draft!, graph: g, digest: '' };
  const w = withoutLocs(pb as any); lap('strip');
  streamingDigest(w); lap('digest');
  console.log(JSON.stringify(T), 'sites', ctx.sites.length);
}
