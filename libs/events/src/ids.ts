/**
 * Deterministic ids (runtime.md §2, T2.3): every id but the execution id is derived from its
 * cause, so re-processing the same input re-derives the same ids and duplicates are dropped.
 */
export const ids = {
  /** scheduler event: `<execution_id>/s/<seq>.<k>` */
  schedulerEvent: (executionId: string, seq: number, k: number) => `${executionId}/s/${seq}.${k}`,
  token: (executionId: string, seq: number, k: number) => `${executionId}/t/${seq}.${k}`,
  stepRun: (executionId: string, seq: number, k: number) => `${executionId}/r/${seq}.${k}`,
  iteration: (stepRunId: string, index: number) => `${stepRunId}/i${index}`,
  /** command for a step run or an iteration; n = dispatch number (1 for the first) */
  command: (runOrIterationId: string, n = 1) => `${runOrIterationId}/c${n}`,
  taskRun: (commandId: string, epoch: number, taskIndex: number, visit: number) => `${commandId}/e${epoch}/t${taskIndex}/v${visit}`,
  attempt: (taskRunId: string, attempt: number) => `${taskRunId}/a${attempt}`,
  /** worker event: `<command_id>/e<epoch>/<n>` */
  workerEvent: (commandId: string, epoch: number, n: number) => `${commandId}/e${epoch}/${n}`,
  /** timer-caused scheduler event: `<entity_id>/timeout` */
  timeout: (entityId: string) => `${entityId}/timeout`,
  lost: (entityId: string) => `${entityId}/lost`,
  api: (executionId: string, ulid: string) => `${executionId}/api/${ulid}`,
  /** sub-playbook request id (runtime.md §12 item 1) */
  childRequest: (commandId: string, taskIndex: number, visit: number, attempt: number) => `${commandId}/t${taskIndex}/v${visit}/a${attempt}`,
} as const;
