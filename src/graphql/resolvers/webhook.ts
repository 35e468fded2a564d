/** Webhook endpoints and their delivery log (scope `webhooks:manage`). */
import type { Resolvers } from '../../generated/graphql';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  redeliverWebhookEvents,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  webhookDeliveryPage,
  webhookEndpointPage,
} from '../../services/webhooks';
import type { WebhookEventType } from '../../services/webhook-events';

export const webhookResolvers: Resolvers = {
  Query: {
    webhookEndpoints: (_, args, ctx) => webhookEndpointPage(ctx.db, ctx.workspace.id, args),
    webhookDeliveries: (_, { endpointId, ...args }, ctx) => webhookDeliveryPage(ctx.db, ctx.workspace.id, endpointId, args),
  },
  WebhookEndpoint: {
    events: (endpoint) => endpoint.events as WebhookEventType[],
  },
  WebhookDelivery: {
    eventType: (attempt) => attempt.eventType as WebhookEventType,
  },
  Mutation: {
    createWebhookEndpoint: (_, { input }, ctx) => createWebhookEndpoint(ctx.db, ctx.workspace.id, input, ctx.webhookTargets),
    updateWebhookEndpoint: (_, { input }, ctx) => updateWebhookEndpoint(ctx.db, ctx.workspace.id, input, ctx.webhookTargets),
    deleteWebhookEndpoint: (_, { input }, ctx) => deleteWebhookEndpoint(ctx.db, ctx.workspace.id, input.id),
    rotateWebhookSecret: (_, { input }, ctx) => rotateWebhookSecret(ctx.db, ctx.workspace.id, input),
    redeliverWebhookEvents: (_, { input }, ctx) => redeliverWebhookEvents(ctx.db, ctx.workspace.id, input),
  },
};
