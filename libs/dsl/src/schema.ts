/**
 * The JSON Schema (draft 2020-12) of the author-facing playbook YAML, for editors:
 *
 *     # yaml-language-server: $schema=../libs/dsl/schema/playbook.schema.json
 *
 * It checks structure only; `loadPlaybook` is the authority (cross-references, templates, R2.12).
 */
import schema from '../schema/playbook.schema.json';

export const PLAYBOOK_SCHEMA: object = schema;
