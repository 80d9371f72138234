export interface AuditRun {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: (Error & { code?: string }) | undefined;
}
export interface Decision {
  outcome: 'clean' | 'skipped' | 'failed';
  lines: string[];
}
export declare const FAILING: Set<string>;
export declare const SKIPPED_MESSAGE: string;
export declare const decide: (run: AuditRun) => Decision;
