/** The card catalogue's face: what other modules and main/ may use. */
export {
  type CardRules,
  type Checksum,
  checkCard,
  gtinValid,
  luhnValid,
  maskFromLast4,
  normaliseCardField,
} from './formats.js';
export type { CardCategory, CardTypeView } from './model.js';
export { cardTypeAdminRoutes, cardTypeRoutes } from './routes.js';
export { type CardTypeService, createCardTypeService } from './service.js';
export type { CardTypeRow } from './store.js';
