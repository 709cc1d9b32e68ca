/**
 * Cross-reference checks over the normalized draft and the per-step facts (§17): duplicate
 * names, entry step, arc and jump targets, ctx writes in parallel loops, template checks and
 * keychain use in scheduler-side templates (R2.12).
 */
import type { NormContext, StepFacts } from './context';
import type { DraftPlaybook } from './normalize';
import type { TemplateAnalyzer } from './templates';

export function validateReferences(ctx: NormContext, draft: DraftPlaybook, facts: StepFacts[], entryPath: string): void {
  const firstByName = new Map<string, StepFacts>();
  for (const f of facts) {
    if (f.name === undefined) continue;
    const first = firstByName.get(f.name);
    if (first) {
      ctx.report('E_DUPLICATE_STEP', f.path, `step \`${f.name}\` is already defined at ${first.path}`, { hint: 'step names must be unique' });
    } else {
      firstByName.set(f.name, f);
    }
  }
  const stepNames = new Set(firstByName.keys());

  const entry = draft.executor.entry_step;
  if (facts.length > 0 && !stepNames.has(entry)) {
    ctx.report('E_NO_ENTRY_STEP', entryPath, `entry step \`${entry}\` does not exist`, {
      atKey: entryPath === 'workflow',
      hint: entryPath === 'workflow' ? 'name the first step `start` or set executor.spec.entry_step' : nearest(entry, stepNames),
    });
  }

  const taskOwner = new Map<string, string>();
  for (const f of facts) for (const t of f.tasks) if (f.name !== undefined && !taskOwner.has(t.name)) taskOwner.set(t.name, f.name);

  for (const f of facts) {
    for (const a of f.arcs) {
      if (stepNames.has(a.target) || a.target === 'end') continue;
      ctx.report('E_UNKNOWN_ARC_TARGET', a.path, `arc target \`${a.target}\` is not a step`, { hint: nearest(a.target, stepNames) });
    }
    const seen = new Map<string, boolean>();
    for (const t of f.tasks) {
      const prev = seen.get(t.name);
      if (prev !== undefined) {
        ctx.report('E_DUPLICATE_TASK', t.path, `task \`${t.name}\` is already defined in step \`${f.name ?? f.path}\``, {
          hint: t.synthetic || prev ? 'a synthetic task name (task_<i> / <step>_task) collides with an explicit one: rename it' : 'task names must be unique within a step',
        });
      } else {
        seen.set(t.name, t.synthetic);
      }
    }
    for (const j of f.jumps) {
      if (seen.has(j.to)) continue;
      const owner = taskOwner.get(j.to);
      ctx.report('E_UNKNOWN_JUMP_TARGET', j.path, `jump target \`${j.to}\` is not a task of step \`${f.name ?? f.path}\``, {
        hint: owner !== undefined && owner !== f.name
          ? `\`${j.to}\` belongs to step \`${owner}\`; a jump never leaves its pipeline (route with next.arcs instead)`
          : nearest(j.to, new Set(seen.keys())) ?? 'jump to a task of the same step or `previous`',
      });
    }
    if (f.parallel && !f.ctxMerge) {
      for (const w of f.ctxWrites) {
        ctx.report('E_CTX_WRITE_IN_PARALLEL_LOOP', w.path, `\`${w.target}\` writes ctx from parallel loop iterations`, {
          atKey: true, hint: 'write iter.* / step.* instead, or declare loop.spec.policy.ctx_merge: last_write_wins',
        });
      }
    }
  }
}

/** Syntax, filter/test and feature checks of every registered template, plus R2.12. */
export function validateTemplates(ctx: NormContext, analyzer: TemplateAnalyzer): void {
  for (const site of ctx.sites) {
    const facts = analyzer.facts(site.text, site.expr);
    for (const issue of facts.issues) {
      const where = site.text.includes('\n') || issue.column > 1 ? ` (template line ${issue.line}, column ${issue.column})` : '';
      ctx.report(issue.code, site.path, `${issue.message}${where}`);
    }
    if (site.noKeychain && facts.roots.includes('keychain')) {
      ctx.report('E_KEYCHAIN_IN_SCHEDULER_TEMPLATE', site.path, 'keychain values may only be used in task fields and input, never in workload / when / set / args / loop.in / max_in_flight', {
        hint: 'pass the secret to the tool through task input or a task field',
      });
    }
  }
}

/** "did you mean X?" for a small edit distance, else undefined. */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  let n = 0;
  for (const c of candidates) {
    if (++n > 5000) break;
    if (Math.abs(c.length - name.length) > 3) continue;
    const d = editDistance(name, c, 3);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(name.length / 3))) ? `did you mean \`${best}\`?` : undefined;
}

function editDistance(a: string, b: string, cap: number): number {
  if (a.length > 64 || b.length > 64) return a === b ? 0 : cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > cap) return cap + 1;
    prev = cur;
  }
  return prev[b.length];
}
