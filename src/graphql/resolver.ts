/** The shape of this schema's resolvers, and of the wrappers the resolver pipeline (pipeline.ts) composes around them. */
import type { GraphQLFieldResolver } from 'graphql';
import type { Context } from './context';

export type Resolver = GraphQLFieldResolver<unknown, Context, Record<string, unknown>>;
export type ResolverWrapper = (next: Resolver) => Resolver;
