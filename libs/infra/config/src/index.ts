export { loadConfig, ConfigError, describeConfig } from './load-config';
export { envSchemas } from './env-schemas';
export { tracingEnvShape } from './tracing-env';
