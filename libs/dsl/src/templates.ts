/**
 * The only place that talks to @noetl/template: syntax checks and static analysis of template
 * strings, memoized per load (playbooks repeat the same templates a lot).
 */
import { analyzeExpression, analyzeTemplate, checkTemplate, hasTemplateSyntax } from '@noetl/template';

export interface TemplateIssueInfo {
  code: string;
  message: string;
  /** 1-based, inside the template */
  line: number;
  column: number;
}

export interface TemplateRef {
  root: string;
  path: string[];
  dynamic: boolean;
}

export interface TemplateFacts {
  issues: TemplateIssueInfo[];
  /** free root names (empty when the template has issues) */
  roots: string[];
  references: TemplateRef[];
}

const NO_FACTS: TemplateFacts = { issues: [], roots: [], references: [] };

/** Does the string contain `{{`, `{%` or `{#` (R12.2)? Cheap pre-check first. */
export function isTemplate(s: string): boolean {
  return s.includes('{') && hasTemplateSyntax(s);
}

export class TemplateAnalyzer {
  // one map per mode, keyed by the text itself (a prefixed key would be a new string to hash per call)
  private readonly templates = new Map<string, TemplateFacts>();
  private readonly expressions = new Map<string, TemplateFacts>();

  /**
   * Facts about a template string, or (expr = true) a bare expression such as a `when` without
   * braces (R6.2). Never throws.
   */
  facts(text: string, expr: boolean): TemplateFacts {
    const cache = expr ? this.expressions : this.templates;
    const hit = cache.get(text);
    if (hit) return hit;
    if (!expr && !isTemplate(text)) return NO_FACTS;
    const facts = compute(text, expr);
    cache.set(text, facts);
    return facts;
  }
}

function compute(text: string, expr: boolean): TemplateFacts {
  let issues: TemplateIssueInfo[];
  try {
    issues = checkTemplate(text, { asExpression: expr }).map((i) => ({
      code: i.code, message: i.message, line: i.line, column: i.column,
    }));
  } catch (e) {
    issues = [{ code: 'E_TEMPLATE_SYNTAX', message: e instanceof Error ? e.message : String(e), line: 1, column: 1 }];
  }
  if (issues.length > 0) return { issues, roots: [], references: [] };
  try {
    const a = expr ? analyzeExpression(text) : analyzeTemplate(text);
    return {
      issues,
      roots: [...a.roots],
      references: a.references.map((r) => ({ root: r.root, path: [...r.path], dynamic: r.dynamic })),
    };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { issues: [{ code: 'E_TEMPLATE_SYNTAX', message, line: 1, column: 1 }], roots: [], references: [] };
  }
}
