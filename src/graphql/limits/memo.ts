/**
 * Per-document memo of the pre-execution analyses (requested cost, requested nodes) and of the
 * field collection the actual-cost walk needs. Apollo keeps each parsed document in its
 * document store and hands the same DocumentNode to every request with that query text, so
 * the analyses can be remembered per document and only the variables need a look per request.
 *
 * The variables enter an analysis only through its *signature*: the operation's variables
 * coerced as execution coerces them, then, per variable, only what the analyses can read:
 *
 * - a variable used as `first`/`last`, anywhere in a directive (`@skip(if:)`), or inside a
 *   list or object literal: its whole coerced value;
 * - a variable used only as `ids` or `representations`: the length of its list (the analyses
 *   count ids; they never look at one);
 * - any other variable: only whether it is absent, null or given (an absent or null value in
 *   a non-null argument with a default makes that field's arguments fail, which the analyses
 *   notice), never the value itself.
 *
 * So `customer(id: $id)` is analysed once for every id, and `_entities` once per number of
 * representations. Variables that do not coerce, and documents whose operation cannot be
 * picked, get no signature: they are analysed per request, as before.
 *
 * Signatures are client-controlled bytes kept across requests, so one longer than
 * MAX_SIGNATURE_CHARS is replaced by its SHA-256: a key never holds more than that.
 */
import { createHash } from 'node:crypto';
import { BY_IDS_ARGUMENTS, PAGE_SIZE_ARGUMENTS } from '../../services/connections';
import {
  Kind,
  coerceInputValue,
  getOperationAST,
  isInputType,
  isNonNullType,
  typeFromAST,
  valueFromAST,
  visit,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/** What an analysis may read of a variable: ordered, a stronger use wins. */
const enum Use {
  Presence = 0,
  Length = 1,
  Value = 2,
}

const VALUE_ARGUMENTS = PAGE_SIZE_ARGUMENTS;
const LENGTH_ARGUMENTS = BY_IDS_ARGUMENTS;

/** Signatures kept per document; a document queried with more page sizes than this recomputes the rest. */
export const SIGNATURES_PER_DOCUMENT = 64;

/** A signature longer than this is kept as its hash. */
export const MAX_SIGNATURE_CHARS = 512;

/** Starts no spelled-out signature: those start with an operation name or NUL. */
const HASHED = '#';

const uses = new WeakMap<DocumentNode, Map<string, Use>>();

/** How each variable is used anywhere in the document (all operations and fragments). */
function variableUses(document: DocumentNode): Map<string, Use> {
  let found = uses.get(document);
  if (found) return found;
  const map = new Map<string, Use>();
  const note = (name: string, use: Use) => map.set(name, Math.max(map.get(name) ?? Use.Presence, use));
  let inDirective = 0;
  visit(document, {
    VariableDefinition: () => false,
    Directive: { enter: () => void inDirective++, leave: () => void inDirective-- },
    Argument(argument) {
      const value = argument.value;
      if (value.kind !== Kind.VARIABLE) {
        // Nested in a list or object literal: whatever the value, treat it as read in full.
        visit(value, { Variable: (variable) => void note(variable.name.value, Use.Value) });
        return false;
      }
      const name = argument.name.value;
      const use = inDirective > 0 || VALUE_ARGUMENTS.has(name) ? Use.Value : LENGTH_ARGUMENTS.has(name) ? Use.Length : Use.Presence;
      note(value.name.value, use);
      return false;
    },
  });
  uses.set(document, (found = map));
  return found;
}

function part(value: unknown, given: boolean, use: Use): string {
  if (!given) return 'u';
  if (value === null) return 'n';
  if (use === Use.Presence) return 'p';
  if (use === Use.Length && Array.isArray(value)) return `#${value.length}`;
  return `=${JSON.stringify(value)}`;
}

/** The operation the request runs: the named one, or the only one. */
function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
  return getOperationAST(document, operationName ?? undefined) ?? null;
}

/** One variable of an operation, with what the signature needs of it resolved once. */
interface VariablePlan {
  name: string;
  type: GraphQLInputType;
  use: Use;
  /** Its part when absent from the request (its default's, `u` without one); null: the variables do not coerce. */
  absent: string | null;
}

/** Per operation: the prefix and variables, or null when the operation cannot be picked or never coerces. */
interface SignaturePlan {
  schema: GraphQLSchema;
  prefix: string;
  variables: VariablePlan[] | null;
}

/**
 * Everything about a signature that depends on the document alone (the operation, each
 * variable's type, use and default), worked out once per document and operation name. Why:
 * graphql's getVariableValues resolves each variable's type from the AST and builds its error
 * machinery on every call, most of the ~2 us a signature cost; per request only the values are
 * left to coerce.
 */
function planOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): SignaturePlan | null {
  let byName = plans.get(document);
  if (!byName) plans.set(document, (byName = new Map<string | null, SignaturePlan | null>()));
  const name = operationName ?? null;
  let plan = byName.get(name);
  if (plan === undefined || (plan !== null && plan.schema !== schema)) byName.set(name, (plan = buildPlan(schema, document, operationName)));
  return plan;
}

function buildPlan(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): SignaturePlan | null {
  const operation = operationOf(document, operationName);
  if (!operation) return null;
  const use = variableUses(document);
  const variables: VariablePlan[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    // As getVariableValues: a variable of no input type never coerces.
    if (!type || !isInputType(type)) return { schema, prefix: '', variables: null };
    const used = use.get(name) ?? Use.Presence;
    variables.push({ name, type, use: used, absent: absentPart(definition.defaultValue ? { value: valueFromAST(definition.defaultValue, type) } : null, type, used) });
  }
  return { schema, prefix: `${operationName ?? ''}\u0000`, variables };
}

/** The part of a variable the request leaves out: its default's, `u` when nullable, none (null) when required. */
function absentPart(fallback: { value: unknown } | null, type: GraphQLInputType, use: Use): string | null {
  if (!fallback) return isNonNullType(type) ? null : part(undefined, false, use);
  try {
    return part(fallback.value, true, use);
  } catch {
    return null; // A default JSON cannot spell: no memo for it, as for a value.
  }
}

/** One given variable's part, or null when it does not coerce (as getVariableValues would report). */
function givenPart(variable: VariablePlan, value: unknown): string | null {
  if (value === null) return isNonNullType(variable.type) ? null : 'n';
  let valid = true;
  const coerced = coerceInputValue(value, variable.type, () => {
    valid = false;
  });
  if (!valid) return null;
  try {
    return part(coerced, true, variable.use);
  } catch {
    return null; // A coerced value JSON cannot spell (a BigInt, a cycle): no memo for it.
  }
}

/**
 * The signature of the request's variables for this document and operation, or null when the
 * analyses must run per request (no single operation, or variables that do not coerce). The
 * variables are coerced as graphql's getVariableValues coerces them (absent, default, null,
 * then coerceInputValue); test/analysis-memo.test.ts checks the two agree on arbitrary inputs.
 */
export function variablesSignature(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): string | null {
  const plan = planOf(schema, document, operationName);
  if (!plan?.variables) return null;
  let signature = plan.prefix;
  const inputs = variables ?? {};
  for (let i = 0; i < plan.variables.length; i++) {
    const variable = plan.variables[i];
    const given = Object.hasOwn(inputs, variable.name) ? givenPart(variable, inputs[variable.name]) : variable.absent;
    if (given === null) return null;
    signature += i === 0 ? given : `\u0000${given}`;
  }
  return signature.length > MAX_SIGNATURE_CHARS ? HASHED + createHash('sha256').update(signature).digest('base64url') : signature;
}

const plans = new WeakMap<DocumentNode, Map<string | null, SignaturePlan | null>>();

/**
 * Values remembered per document and signature, a bounded number per document. Values must
 * not hold the request's variables (src/graphql/limits/cost.ts resultWalk keeps only the
 * @skip/@include ones): keys are bounded by MAX_SIGNATURE_CHARS, values are the caller's to bound.
 */
export class DocumentMemo<V> {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, V>>();

  constructor(private readonly perDocument: number = SIGNATURES_PER_DOCUMENT) {}

  /** Characters of the signatures kept for a document: at most perDocument x MAX_SIGNATURE_CHARS. */
  keyChars(document: DocumentNode): number {
    let total = 0;
    for (const signature of this.byDocument.get(document)?.keys() ?? []) total += signature.length;
    return total;
  }

  /** The remembered value, or `compute()`'s (remembered unless it threw or the signature is null). */
  get(document: DocumentNode, signature: string | null, compute: () => V): V {
    if (signature === null) return compute();
    let entries = this.byDocument.get(document);
    if (!entries) this.byDocument.set(document, (entries = new Map<string, V>()));
    if (entries.has(signature)) return entries.get(signature) as V;
    const value = compute();
    if (entries.size >= this.perDocument) entries.delete(entries.keys().next().value as string);
    entries.set(signature, value);
    return value;
  }
}

/**
 * The signature for one request, computed once however many plugins ask. `request` is an
 * object that lives exactly as long as the request (Apollo's per-request context value).
 */
export function requestSignature(
  request: object,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): string | null {
  const known = perRequest.get(request);
  if (known && known.document === document && known.variables === variables) return known.signature;
  const signature = variablesSignature(schema, document, operationName, variables);
  perRequest.set(request, { document, variables, signature });
  return signature;
}

const perRequest = new WeakMap<object, { document: DocumentNode; variables: unknown; signature: string | null }>();
