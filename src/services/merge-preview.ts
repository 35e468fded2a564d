/** What customerMergePreview answers (the codegen mapper of CustomerMergePreview; no generated import, so no cycle). */
import type { CustomFieldValueRecord, CustomerRecord } from '../store/records';
import type { FieldError } from './validation';

export interface MergeConflictModel {
  field: string;
  survivorValue: unknown;
  mergedValue: unknown;
  overridden: boolean;
}

export interface MergePreview {
  /** The survivor as the merge would leave it; null when a blocker stops the merge. */
  customer: CustomerRecord | null;
  conflicts: MergeConflictModel[];
  customFields: CustomFieldValueRecord[];
  membersMoved: number;
  blockers: FieldError[];
}
