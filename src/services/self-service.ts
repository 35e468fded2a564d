/**
 * Customer self-service (`updateMe`): an end user changes what is theirs to change (name, phone,
 * billing address, unsubscribed, and the custom fields a definition marks self-editable) on
 * their own record, through the same update, validation and audit as a staff edit.
 */
import type { Kysely } from 'kysely';
import type { UpdateMeInput } from '../generated/graphql';
import { findDefinitions } from '../store/custom-fields.repository';
import { withTransaction } from '../store/engine';
import type { Database } from '../store/tables';
import type { Actor } from './audit';
import { loadForChange, updateInTx, type CustomerResult } from './customers';
import { Problems } from './validation';

export async function updateMe(db: Kysely<Database>, who: Actor, customerId: string | null, input: UpdateMeInput): Promise<CustomerResult> {
  if (customerId === null) {
    return { customer: null, userErrors: [{ field: null, code: 'NOT_FOUND', message: 'no customer record belongs to this sign-in yet' }] };
  }
  const { expectedVersion, ...fields } = input;
  return withTransaction(db, async (trx) => {
    const problems = new Problems();
    const before = await loadForChange(trx, who.workspaceId, customerId, expectedVersion, problems, []);
    if (!before) return { customer: null, userErrors: problems.list };
    const definitions = await findDefinitions(trx, who.workspaceId);
    const selfEditable = new Set(definitions.filter((d) => d.selfEditable).map((d) => d.key));
    (fields.customFields ?? []).forEach((item, i) => {
      if (definitions.some((d) => d.key === item.key) && !selfEditable.has(item.key)) {
        problems.add(['customFields', String(i), 'key'], 'INVALID', `custom field "${item.key}" is not self-editable`);
      }
    });
    return updateInTx(trx, who, before, fields, problems, {}, { definitions });
  });
}
