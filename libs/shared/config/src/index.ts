// @kedge/config: YAML config files validated against a schema, with errors that name file and field.
export { ConfigError, loadConfigFile, parseConfigText, type ConfigProblem } from './config-file';
export { endpointField, ipAddressField, logField, metricsEndpointField, portField } from './common-fields';
