import type { Context } from '../context';
import type { Actor } from '../../services/audit';

/** The acting party of a request, as the services record it. */
export function actorOf(ctx: Context): Actor {
  return { workspaceId: ctx.workspace.id, actor: ctx.actor, via: ctx.via };
}
