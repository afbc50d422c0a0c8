// Request arguments checked where they enter the service: a wrong one is INVALID_ARGUMENT, never a crash.
import { RequestError } from '../engine/errors.ts';

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new RequestError('INVALID_ARGUMENT', `${name} must be a non-empty string`);
  return value;
}

export function requireIds(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw new RequestError('INVALID_ARGUMENT', 'documentIds must be an array of strings');
  return value;
}


/** A non-empty text after trimming, trimmed. */
export function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new RequestError('INVALID_ARGUMENT', `${name} must be a non-empty string`);
  return value.trim();
}
