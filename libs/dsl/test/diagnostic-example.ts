/** Shape of one documented diagnostic example (shared by the example lists). */
import type { LoadOptions } from '../src/load';

export interface DiagnosticExample {
  code: string;
  yaml: string;
  options?: LoadOptions;
  /** why it fails / how to fix, for the docs */
  fix: string;
}

export const HEAD = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo }\n';
