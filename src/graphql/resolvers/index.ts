import type { Resolvers } from '../../generated/graphql';
import { actionResolvers } from './action';
import { customFieldResolvers } from './custom-field';
import { customerResolvers } from './customer';
import { exportResolvers } from './export';
import { memberResolvers } from './member';
import { nodeResolvers } from './node';
import { scalarResolvers } from './scalars';

/** Every resolver map, in one list for buildSubgraphSchema (which merges them). */
export const resolverModules: Resolvers[] = [
  scalarResolvers,
  nodeResolvers,
  customerResolvers,
  memberResolvers,
  actionResolvers,
  customFieldResolvers,
  exportResolvers,
];
