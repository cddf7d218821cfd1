// PLACEHOLDER until the signature primitives land (branch gmcrypto): replaced at merge.
import { createHmac } from 'node:crypto';
import type { ParsedKey } from '../modules/channels/index.js';
import { fail, type Result } from './result.js';

export const hmacSm3 = (secret: string, message: Buffer) =>
  createHmac('sm3', secret).update(message).digest('hex');
export const parseChannelPublicKey = (_text: string): Result<ParsedKey, 'public_key_invalid'> =>
  fail('public_key_invalid', 'not yet', { field: 'public_key' });
export const verifyChannelSignature = async (..._args: unknown[]) => false;
