import type { Resolvers } from '../../generated/graphql';
import { actionResolvers } from './action';
import { customFieldResolvers } from './custom-field';
import { customerResolvers } from './customer';
import { exportResolvers } from './export';
import { memberResolvers } from './member';
import { nodeResolvers } from './node';
import { privacyResolvers } from './privacy';
import { scalarResolvers } from './scalars';
import { selfServiceResolvers } from './self-service';
import { webhookResolvers } from './webhook';

/** Every resolver map, one per domain: buildSchema (src/graphql/server.ts) attaches each with addResolversToSchema, which refuses a resolver the SDL lacks. */
export const resolverModules: Resolvers[] = [
  scalarResolvers,
  nodeResolvers,
  customerResolvers,
  memberResolvers,
  actionResolvers,
  customFieldResolvers,
  exportResolvers,
  selfServiceResolvers,
  privacyResolvers,
  webhookResolvers,
];
