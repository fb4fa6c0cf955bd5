/**
 * How many mailboxes one instance leads when `instances` share `polled` mailboxes: at most
 * ceil(polled / instances), so that every mailbox has room on some instance and none takes them
 * all. Given the mailboxes it leads (oldest first), which to give up (the newest: they have the
 * least session to lose) and how many more it may take.
 */
export function shareOut<T>(leading: readonly T[], polled: number, instances: number): { giveUp: T[]; room: number } {
  const quota = Math.ceil(polled / Math.max(1, instances));
  return { giveUp: leading.slice(quota).reverse(), room: Math.max(0, quota - leading.length) };
}
