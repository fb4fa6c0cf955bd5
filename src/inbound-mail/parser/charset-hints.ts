import * as iconv from 'iconv-lite';
import { MAX_CHARSET_HINTS } from './limits';

/**
 * Charset hints gathered from one mail, in the order they were added: each charset once, however
 * it is spelled (deduplicated by the iconv-lite codec its name resolves to: `iso-8859-2`,
 * `ISO_8859-2:1987` and `latin2` are one), and at most MAX_CHARSET_HINTS of them.
 */
export class CharsetHints {
  private readonly codecs = new Set<unknown>();
  private readonly names: string[] = [];

  /** Adds an iconv-lite charset name (as `resolveCharset` returns it); ignored when known or full. */
  add(name: string): void {
    if (this.names.length >= MAX_CHARSET_HINTS) return;
    const codec = iconv.getCodec(name);
    if (this.codecs.has(codec)) return;
    this.codecs.add(codec);
    this.names.push(name);
  }

  /** The hints, first added first. */
  list(): string[] {
    return [...this.names];
  }
}
