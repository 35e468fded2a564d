/** Custom field definitions: workspace-defined fields on customers. */
import type { DefineCustomFieldInput } from '../generated/graphql';
import { findDefinitions, upsertDefinition } from '../store/custom-fields.repository';
import { withTransaction, type Db } from '../store/engine';
import type { CustomFieldDefinitionRecord } from '../store/records';
import { LIMITS, Problems, checkCustomFieldKey, checkText, type FieldError } from './validation';

export interface DefinitionResult {
  customFieldDefinition: CustomFieldDefinitionRecord | null;
  userErrors: FieldError[];
}

/** At most this many fields per workspace: each searchable one is an index entry per customer. */
const MAX_CUSTOM_FIELDS = 100;

export async function defineCustomField(
  db: Db,
  workspaceId: string,
  input: DefineCustomFieldInput,
): Promise<DefinitionResult> {
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const key = checkCustomFieldKey(input.key, ['key'], problems);
    const label = checkText(input.label, LIMITS.shortText, ['label'], problems);
    if (label === null) problems.add(['label'], 'REQUIRED', 'label is required');
    const existing = await findDefinitions(trx, workspaceId);
    const current = existing.find((d) => d.key === key);
    if (current && current.valueType !== input.valueType) {
      problems.add(['valueType'], 'IMMUTABLE', `the field is already defined as ${current.valueType}; its value type cannot change`);
    }
    if (!current && existing.length >= MAX_CUSTOM_FIELDS) {
      problems.add(['key'], 'LIMIT_EXCEEDED', `a workspace can define at most ${MAX_CUSTOM_FIELDS} custom fields`);
    }
    if (!problems.empty || !key || !label) return { customFieldDefinition: null, userErrors: problems.list };
    const now = new Date().toISOString();
    const definition: CustomFieldDefinitionRecord = {
      workspaceId,
      key,
      label,
      valueType: input.valueType,
      searchable: input.searchable ?? current?.searchable ?? false,
      selfEditable: input.selfEditable ?? current?.selfEditable ?? false,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    };
    await upsertDefinition(trx, definition);
    return { customFieldDefinition: definition, userErrors: [] };
  });
}
