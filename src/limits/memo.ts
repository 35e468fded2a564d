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
 */
import {
  Kind,
  getOperationAST,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';

/** What an analysis may read of a variable: ordered, a stronger use wins. */
const enum Use {
  Presence = 0,
  Length = 1,
  Value = 2,
}

const VALUE_ARGUMENTS = new Set(['first', 'last']);
const LENGTH_ARGUMENTS = new Set(['ids', 'representations']);

/** Signatures kept per document; a document queried with more page sizes than this recomputes the rest. */
export const SIGNATURES_PER_DOCUMENT = 64;

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

/**
 * The signature of the request's variables for this document and operation, or null when the
 * analyses must run per request (no single operation, or variables that do not coerce).
 */
export function variablesSignature(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): string | null {
  const operation = operationOf(document, operationName);
  if (!operation) return null;
  const definitions = operation.variableDefinitions ?? [];
  const prefix = `${operationName ?? ''}\u0000`;
  if (definitions.length === 0) return prefix;
  const coerced = getVariableValues(schema, definitions, variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return null;
  const use = variableUses(document);
  const parts: string[] = [];
  try {
    for (const definition of definitions) {
      const name = definition.variable.name.value;
      parts.push(part(coerced.coerced[name], Object.hasOwn(coerced.coerced, name), use.get(name) ?? Use.Presence));
    }
  } catch {
    return null; // A coerced value JSON cannot spell (a BigInt, a cycle): no memo for it.
  }
  return prefix + parts.join('\u0000');
}

/** Values remembered per document and signature, a bounded number per document. */
export class DocumentMemo<V> {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, V>>();

  constructor(private readonly perDocument: number = SIGNATURES_PER_DOCUMENT) {}

  /** The remembered value, or `compute()`'s (remembered unless it threw or the signature is null). */
  get(document: DocumentNode, signature: string | null, compute: () => V): V {
    if (signature === null) return compute();
    let entries = this.byDocument.get(document);
    if (!entries) this.byDocument.set(document, (entries = new Map()));
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
