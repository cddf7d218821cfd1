// Business days are shared with channels' daily caps (docs/limits.md): the pure functions live in shared/.
export { addDays, businessDate, startOfBusinessDate } from '../../shared/business-day.js';
