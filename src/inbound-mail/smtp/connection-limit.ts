/**
 * Connections held per client address, at most `perAddress` each: `open` says whether one more
 * may be served, `close` gives a served one back. Addresses with no connection are forgotten, so
 * the map holds only the addresses connected now.
 */
export class ConnectionLimit {
  private readonly open_ = new Map<string, number>();

  constructor(readonly perAddress: number) {}

  /** Counts a new connection from `address`; false (nothing counted) when it already holds `perAddress`. */
  open(address: string): boolean {
    const held = this.open_.get(address) ?? 0;
    if (held >= this.perAddress) return false;
    this.open_.set(address, held + 1);
    return true;
  }

  /** Gives back one connection of `address` counted by `open`. */
  close(address: string): void {
    const held = this.open_.get(address) ?? 0;
    if (held <= 1) this.open_.delete(address);
    else this.open_.set(address, held - 1);
  }

  /** Connections held by `address` now. */
  held(address: string): number {
    return this.open_.get(address) ?? 0;
  }
}
