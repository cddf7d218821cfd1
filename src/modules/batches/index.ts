/** Batch intake's face (docs/batches.md): card files in, lines as orders, progress and a per-line report. */
export { BATCH_EVENT_TYPES } from './events.js';
export type { UploadMeta } from './intake.js';
export { BATCH_CHUNK, BATCH_PROGRESS, type BatchView, type FileFormat, PRUNE_UPLOADS } from './model.js';
export { batchRoutes, CONTENT_SHA256_HEADER } from './routes.js';
export { type BatchService, createBatchService } from './service.js';
