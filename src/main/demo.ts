import type { Context } from './context.js';

/** A fixed id, so the README and the docs can name it. */
export const DEMO_CHANNEL_ID = 'ch_demo0000000000000000000000';

/** Creates the demo channel on first run and returns its credentials (they are shown to the operator). */
export async function ensureDemoChannel(ctx: Context) {
  if (!(await ctx.channels.get(DEMO_CHANNEL_ID))) {
    await ctx.channels.create({ name: 'Demo channel', kind: 'merchant' }, { id: DEMO_CHANNEL_ID });
    ctx.logger.info({ channel_id: DEMO_CHANNEL_ID }, 'demo channel created');
  }
  const creds = await ctx.channels.credentials(DEMO_CHANNEL_ID);
  const webhookSecret = await ctx.channels.webhookSecret(DEMO_CHANNEL_ID);
  if (!creds || !webhookSecret) throw new Error('demo channel vanished');
  return { ...creds, webhookSecret };
}
