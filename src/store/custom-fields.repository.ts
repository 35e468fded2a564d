/** Custom field definitions and the values customers hold for them. */
import { isoOf, jsonText, type Db } from './engine';
import type {
  CustomFieldDefinitionRecord,
  CustomFieldScalar,
  CustomFieldValueRecord,
  CustomFieldValueType,
} from './records';
import type { CustomFieldDefinitionRow } from './tables';

function toDefinitionRecord(row: CustomFieldDefinitionRow): CustomFieldDefinitionRecord {
  return {
    workspaceId: row.workspace_id,
    key: row.key,
    label: row.label,
    valueType: row.value_type as CustomFieldValueType,
    searchable: row.searchable === 1,
    selfEditable: row.self_editable === 1,
    createdAt: isoOf(row.created_at),
    updatedAt: isoOf(row.updated_at),
  };
}

export async function findDefinitions(db: Db, workspaceId: string): Promise<CustomFieldDefinitionRecord[]> {
  const rows = await db
    .selectFrom('custom_field_definitions')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('key')
    .execute();
  return rows.map(toDefinitionRecord);
}

export async function upsertDefinition(db: Db, definition: CustomFieldDefinitionRecord): Promise<void> {
  const row = {
    workspace_id: definition.workspaceId,
    key: definition.key,
    label: definition.label,
    value_type: definition.valueType,
    searchable: definition.searchable ? 1 : 0,
    self_editable: definition.selfEditable ? 1 : 0,
    created_at: definition.createdAt,
    updated_at: definition.updatedAt,
  };
  await db
    .insertInto('custom_field_definitions')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['workspace_id', 'key']).doUpdateSet({
        label: row.label,
        searchable: row.searchable,
        self_editable: row.self_editable,
        updated_at: row.updated_at,
      }),
    )
    .execute();
  // The searchable copy on values keeps the partial index in step with the definition.
  await db
    .updateTable('custom_field_values')
    .set({ searchable: row.searchable })
    .where('workspace_id', '=', row.workspace_id)
    .where('field_key', '=', row.key)
    .where('searchable', '!=', row.searchable)
    .execute();
}

/** The canonical text of a value for equality filters: strings match case-insensitively. */
export function valueText(value: CustomFieldScalar): string {
  return typeof value === 'string' ? value.toLowerCase() : String(value);
}

export async function findValuesOfCustomers(
  db: Db,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<CustomFieldValueRecord[]> {
  if (customerIds.length === 0) return [];
  const rows = await db
    .selectFrom('custom_field_values')
    .select(['customer_id', 'field_key', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('customer_id', 'in', customerIds)
    .orderBy('customer_id')
    .orderBy('field_key')
    .execute();
  return rows.map((row) => ({
    customerId: row.customer_id,
    key: row.field_key,
    value: JSON.parse(row.value) as CustomFieldScalar,
  }));
}

export interface ValueWrite {
  key: string;
  /** null removes the value. */
  value: CustomFieldScalar | null;
  searchable: boolean;
}

export async function writeValues(
  db: Db,
  workspaceId: string,
  customerId: string,
  writes: readonly ValueWrite[],
): Promise<void> {
  for (const write of writes) {
    if (write.value === null) {
      await db
        .deleteFrom('custom_field_values')
        .where('customer_id', '=', customerId)
        .where('field_key', '=', write.key)
        .execute();
      continue;
    }
    const row = {
      workspace_id: workspaceId,
      customer_id: customerId,
      field_key: write.key,
      value: jsonText(write.value),
      value_text: valueText(write.value),
      searchable: write.searchable ? 1 : 0,
    };
    await db
      .insertInto('custom_field_values')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['customer_id', 'field_key']).doUpdateSet({ value: row.value, value_text: row.value_text }),
      )
      .execute();
  }
}
