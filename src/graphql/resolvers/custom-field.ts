/** Custom field definitions and values. */
import type { Resolvers } from '../../generated/graphql';
import { defineCustomField } from '../../services/custom-fields';

export const customFieldResolvers: Resolvers = {
  Query: {
    customFieldDefinitions: (_, __, ctx) => ctx.loaders.customFieldDefinitions(),
  },
  Mutation: {
    defineCustomField: async (_, { input }, ctx) => {
      const result = await defineCustomField(ctx.db, ctx.workspace.id, input);
      if (result.customFieldDefinition) ctx.loaders.definitionsChanged();
      return result;
    },
  },
};
