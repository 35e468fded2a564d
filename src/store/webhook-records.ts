/** Webhook records: what the webhook repository returns and GraphQL resolvers receive (codegen `mappers`). */

export interface WebhookEndpointRecord {
  id: string;
  workspaceId: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What signing needs; never leaves the services layer. */
export interface EndpointSecrets {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
}

export interface NewWebhookEndpoint extends WebhookEndpointRecord {
  secret: string;
}

export interface WebhookAttemptRecord {
  id: string;
  workspaceId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  status: 'SUCCEEDED' | 'FAILED';
  responseCode: number | null;
  error: string | null;
  durationMs: number;
  attemptedAt: string;
  nextRetryAt: string | null;
  /** Epoch ms of attemptedAt: the paging key. */
  attemptedAtMs: number;
}

