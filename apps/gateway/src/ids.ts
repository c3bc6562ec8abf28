import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A sandbox id as E2B shapes them: 20 lowercase letters and digits, so `<port>-<id>.<domain>` parses. */
export function newSandboxId(): string {
  const bytes = randomBytes(20);
  let id = 'i';
  for (let i = 1; i < 20; i++) id += ALPHABET[bytes[i]! % ALPHABET.length];
  return id;
}

export const SANDBOX_ID = /^[a-z0-9]{20}$/;

/** An API key as E2B issues them: `e2b_` and 40 hex digits. */
export function newApiKey(): string {
  return `e2b_${randomBytes(20).toString('hex')}`;
}

export const API_KEY = /^e2b_[0-9a-f]{40}$/;

/** Keys are stored as their SHA-256: a leaked database does not leak usable keys. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A per-sandbox secret (envd access token, traffic token). */
export function newToken(): string {
  return randomBytes(24).toString('hex');
}
