/**
 * What a GraphQL request was, for metrics and the trace: its operation name and type, how it
 * ended, and its cost. The HTTP front makes one per request when metrics or tracing are on,
 * times the whole request (reading the body and authenticating included) and records it once
 * the response is out; the concern here fills it in from Apollo's hooks. A request that never
 * reaches Apollo (refused credential, unreadable body) keeps the defaults: never parsed,
 * rejected.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import type { BaseContext } from '@apollo/server';
import { ErrorCode } from '../shared/errors';
import type { OperationOutcome } from '../shared/metrics';
import type { RequestConcern, RequestHooks } from './request-hooks';

export class OperationObservation {
  /** Null while the document has not parsed; `''` for an anonymous operation. */
  name: string | null = null;
  type = 'unknown';
  outcome: OperationOutcome = 'rejected';
  executed = false;
  requestedCost: number | null = null;
  actualCost: number | null = null;

  /** Name and type from the document when Apollo did not resolve the operation (it failed validation). */
  fromDocument(document: DocumentNode, operationName: string | undefined): void {
    const operation = getOperationAST(document, operationName);
    this.name = operation?.name?.value ?? operationName ?? '';
    if (operation) this.type = operation.operation;
  }
}

// A symbol-keyed property, as for the deadline (deadline.ts): it survives Apollo's copy of the context.
const OBSERVATION = Symbol('operation-observation');
type WithObservation = { [OBSERVATION]?: OperationObservation };

export function observationOf(context: unknown): OperationObservation | undefined {
  return typeof context === 'object' && context !== null ? (context as WithObservation)[OBSERVATION] : undefined;
}

/** Ties the HTTP front's observation to the request's context. */
export function attachObservation<T extends object>(context: T, observation: OperationObservation): T {
  (context as WithObservation)[OBSERVATION] = observation;
  return context;
}

/** The cost concern's figures for this request (limits/plugin.ts), once it has them. */
export function observeCost(context: unknown, requested: number, actual: number | null): void {
  const observation = observationOf(context);
  if (!observation) return;
  observation.requestedCost = requested;
  observation.actualCost = actual;
}

/**
 * Throttled: the rate-limit bucket refused it. Rejected: refused before execution (parse,
 * validation, limits, scopes). Error: it ran and some field failed. Success: no error at all.
 */
export function observationConcern<T extends BaseContext>(): RequestConcern<T> {
  const hooks: RequestHooks<T> = {
    didResolveOperation({ contextValue, operation, operationName }) {
      const observation = observationOf(contextValue) as OperationObservation;
      observation.name = operationName ?? '';
      if (operation) observation.type = operation.operation;
    },
    executionDidStart({ contextValue }) {
      (observationOf(contextValue) as OperationObservation).executed = true;
    },
    willSendResponse({ contextValue, errors, document, request }) {
      const observation = observationOf(contextValue) as OperationObservation;
      if (observation.name === null && document) observation.fromDocument(document, request.operationName);
      if (!errors || errors.length === 0) observation.outcome = 'success';
      else if (errors.some((error) => error.extensions?.code === ErrorCode.THROTTLED)) observation.outcome = 'throttled';
      else observation.outcome = observation.executed ? 'error' : 'rejected';
    },
  };
  return ({ contextValue }) => (observationOf(contextValue) ? hooks : undefined);
}
