// node:util parseArgs with the errors turned into UsageError, and typed number options.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './UsageError.ts';

export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

export function nonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < 0) throw new UsageError(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}
