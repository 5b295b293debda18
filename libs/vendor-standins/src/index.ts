// @saldo/vendor-standins: local servers that speak NetSuite's, Zendesk's and ActiveCampaign's wire
// formats (auth, errors, concurrency and rate limits, state) for tests and `npm start`.
export {
  startStandins,
  ZENDESK_USER_FIELDS,
  ACTIVECAMPAIGN_FIELD_IDS,
  ZENDESK_HUB_USER_FIELDS,
  ACTIVECAMPAIGN_HUB_FIELDS,
  type RunningStandins,
  type StartStandinsOptions,
} from './standins';
export {
  NetSuiteStandin,
  NETSUITE_CUSTOMER_FIELDS,
  netsuiteError,
  type StoredCustomer,
  type CustomerFieldDef,
  type NetSuiteStandinOptions,
  type StoredDocument,
  type StoredJournal,
  type StoredJournalLine,
} from './netsuite-standin';
export {
  ZendeskStandin,
  ActiveCampaignStandin,
  type ZendeskUser,
  type ActiveCampaignContact,
} from './crm-standins';
export {
  StandinServer,
  RateLimit,
  parseJsonExact,
  decimalToScaled,
  scaledToDecimal,
  type StandinStats,
} from './http-kit';
export { seedHubScenario, type HubScenario } from './hub-scenario';
