import { parseSqlCommentPairs, trailingSqlComment } from '../core/sql-comment-format.js';
import type { ServerQueryTags } from './activity-report.js';

/**
 * Reads the sqlcommenter comment at the end of a pg_stat_activity query (docs/reference/query-comments.md): the
 * fields poolscope's `queryComments` writes, and every pair of any other tool's sqlcommenter comment.
 */

/** The tags of `query`'s trailing sqlcommenter comment, or null when it ends with none (or a free-form comment). */
export function queryTagsOf(query: string | null): ServerQueryTags | null {
  if (query === null) return null;
  const inside = trailingSqlComment(query);
  if (inside === undefined) return null;
  const tags = parseSqlCommentPairs(inside);
  if (tags === undefined) return null;
  const lease = Number(own(tags, 'lease'));
  return {
    owner: own(tags, 'owner'),
    location: own(tags, 'file'),
    leaseId: own(tags, 'lease') !== null && Number.isSafeInteger(lease) && lease > 0 ? lease : null,
    poolName: own(tags, 'pool'),
    appName: own(tags, 'app'),
    traceparent: own(tags, 'traceparent'),
    tags,
  };
}

function own(tags: Readonly<Record<string, string>>, key: string): string | null {
  return Object.hasOwn(tags, key) ? (tags[key] ?? null) : null;
}
