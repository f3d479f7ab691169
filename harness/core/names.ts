// Names of host objects a run creates. Every one starts with PREFIX so `cleanup` can recognise
// leftovers even without a ledger, and never touches anything it did not create.
import crypto from 'node:crypto';

export const PREFIX = 'vnb';

/** A short id unique to a run, usable inside 15-character interface names. */
export function shortId(): string {
  return crypto.randomBytes(3).toString('hex');
}

/** `vnb<id><role>`, checked against IFNAMSIZ. */
export function ifName(id: string, role: string): string {
  const n = `${PREFIX}${id}${role}`;
  if (n.length > 15) throw new Error(`interface name ${n} exceeds 15 characters`);
  return n;
}

export function nsName(id: string, role: string): string {
  return `${PREFIX}-${id}-${role}`;
}

export const OUR_NETNS = /^vnb-[0-9a-f]{6}-/;
export const OUR_LINK = /^vnb[0-9a-f]{6}/;
