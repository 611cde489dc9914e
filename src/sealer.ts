/**
 * Sealing of the SHA256SUMS list (the reference's `Sealer`): when a sealer is given, writers add
 * `SHA256SUMS.sealed` = seal(SHA256SUMS) and readers open it and check its list as well.
 */
import { SnapshotError } from './errors.js';

export interface Sealer {
  /** Returns the sealed form of `plain`. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Returns the plain text of `sealed`; rejects when it was not sealed by this sealer's key. */
  open(sealed: Uint8Array): Promise<Uint8Array>;
}

const NONCE = 12;
const TAG = 16;

/**
 * AES-256-GCM sealer over WebCrypto: sealed = 12-byte random nonce ‖ ciphertext ‖ 16-byte tag,
 * no additional data. `key` is the 32 raw key bytes. Throws SnapshotError('INVALID_ARGUMENT')
 * for a key of another length; `open` rejects with SnapshotError('SEAL') on any mismatch, and
 * with SnapshotError('IO') where the runtime has no WebCrypto (a browser page over plain http).
 */
export function aesGcmSealer(key: Uint8Array): Sealer {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new SnapshotError('INVALID_ARGUMENT', 'AES-256-GCM key must be 32 bytes');
  }
  const raw = key.slice();
  let imported: Promise<CryptoKey> | undefined;
  const cryptoKey = () => {
    const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
    if (!subtle) {
      throw new SnapshotError(
        'IO',
        'WebCrypto (crypto.subtle) is not available here, so sealed sums cannot be opened; browsers offer it on https pages and localhost only',
      );
    }
    imported ??= subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    return imported;
  };
  return {
    async seal(plain) {
      const k = await cryptoKey();
      const iv = crypto.getRandomValues(new Uint8Array(NONCE));
      const ct = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, k, new Uint8Array(plain)),
      );
      const out = new Uint8Array(NONCE + ct.length);
      out.set(iv, 0);
      out.set(ct, NONCE);
      return out;
    },
    async open(sealed) {
      if (sealed.length === 0) {
        throw new SnapshotError(
          'SEAL',
          'the archive has no sealed sums (SHA256SUMS.sealed) to open: it was not sealed',
        );
      }
      if (sealed.length < NONCE + TAG) {
        throw new SnapshotError('SEAL', 'sealed data is too short');
      }
      const k = await cryptoKey();
      try {
        const plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: sealed.slice(0, NONCE) },
          k,
          sealed.slice(NONCE),
        );
        return new Uint8Array(plain);
      } catch (err) {
        // WebCrypto's word for a tag that does not match: a wrong key or altered data.
        if ((err as { name?: string })?.name !== 'OperationError') throw err;
        throw new SnapshotError(
          'SEAL',
          'cipher: message authentication failed (another key, or the sealed sums were altered)',
        );
      }
    },
  };
}

/**
 * Parses a key file's text: 64 hexadecimal characters, surrounding whitespace ignored.
 * Throws SnapshotError('INVALID_ARGUMENT') otherwise (the message never contains the key).
 */
export function parseKeyHex(text: string): Uint8Array {
  if (typeof text !== 'string') {
    const got = text === null ? 'null' : typeof text;
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `key must be a string of 64 hexadecimal characters, got ${got}`,
    );
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    // Says what is wrong without showing any of the key.
    const found = /^[0-9a-fA-F]*$/.test(hex)
      ? `got ${hex.length} characters`
      : `got ${hex.length} characters, not all of them hexadecimal`;
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `key must be 64 hexadecimal characters (32 bytes), ${found}`,
    );
  }
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return key;
}
