import { shareOut } from './share-out';

describe('shareOut', () => {
  it('lets a lone instance lead every mailbox', async () => {
    expect(shareOut([], 20, 1)).toEqual({ giveUp: [], room: 20 });
    expect(shareOut([1, 2], 3, 1)).toEqual({ giveUp: [], room: 1 });
  });

  it('gives the newest extra mailboxes up when another instance appears', async () => {
    expect(shareOut([1, 2, 3], 3, 2)).toEqual({ giveUp: [3], room: 0 });
    expect(shareOut([1, 2, 3, 4, 5], 5, 3)).toEqual({ giveUp: [5, 4, 3], room: 0 });
  });

  it('leaves room so that every mailbox fits somewhere (ceil), and takes a dead instance share', async () => {
    expect(shareOut([1], 3, 2)).toEqual({ giveUp: [], room: 1 });
    // Three instances, one died: each survivor may lead 10 of 20 again.
    expect(shareOut([1, 2, 3, 4, 5, 6, 7], 20, 2)).toEqual({ giveUp: [], room: 3 });
  });

  it('gives everything up when nothing is polled any more', async () => {
    expect(shareOut([1, 2], 0, 1)).toEqual({ giveUp: [2, 1], room: 0 });
  });
});
