export {
  createHttpSmsSender,
  DEFAULT_SMS_TIMEOUT_MS,
  type HttpSmsOptions,
  SMS_ADAPTER_CODES,
  type SmsAdapter,
  smsSenderFromConfig,
} from './http.js';
export { maskPhone, type SmsMessage, type SmsResult, type SmsSender } from './port.js';
export { SMS_CODES, SMS_STEP_UP_TEMPLATE } from './protocol.js';
