import type { Lease } from './lease.js';

/**
 * The leases of one pool in one state (waiting or held), as an intrusive doubly linked list: the links live on the
 * leases themselves, so adding and removing on the checkout path is a few field writes, with no hashing and no
 * allocation. A lease is in at most one list at a time. Order is insertion order (oldest first).
 */
export class LeaseList {
  #head: Lease | undefined = undefined;
  #tail: Lease | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Appends `lease`, which must be in no list (remove it from the one it is in first). */
  add(lease: Lease): void {
    if (lease.list !== undefined) return; // already listed: a bookkeeping slip, never a reason to corrupt a list
    lease.list = this;
    lease.prevInList = this.#tail;
    lease.nextInList = undefined;
    if (this.#tail === undefined) this.#head = lease;
    else this.#tail.nextInList = lease;
    this.#tail = lease;
    this.#size += 1;
  }

  /** Removes `lease` if it is in this list; returns whether it was. */
  remove(lease: Lease): boolean {
    if (lease.list !== this) return false;
    const prev = lease.prevInList;
    const next = lease.nextInList;
    if (prev === undefined) this.#head = next;
    else prev.nextInList = next;
    if (next === undefined) this.#tail = prev;
    else next.prevInList = prev;
    lease.list = undefined;
    lease.prevInList = undefined;
    lease.nextInList = undefined;
    this.#size -= 1;
    return true;
  }

  /** The first lease (oldest added) for which `predicate` holds. */
  find(predicate: (lease: Lease) => boolean): Lease | undefined {
    for (let lease = this.#head; lease !== undefined; lease = lease.nextInList) if (predicate(lease)) return lease;
    return undefined;
  }

  /** The leases, oldest added first (a copy: safe to keep while the list changes). */
  toArray(): Lease[] {
    const out: Lease[] = [];
    for (let lease = this.#head; lease !== undefined; lease = lease.nextInList) out.push(lease);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<Lease> {
    for (let lease = this.#head; lease !== undefined; ) {
      const next = lease.nextInList; // read before yielding: the caller may remove `lease`
      yield lease;
      lease = next;
    }
  }
}
