export { type AppOptions, buildApp } from './app.ts'
export { type Config, ConfigError, ConfigSchema, describeConfig, loadConfig } from './config.ts'
export { type ErrorBody, GatewayError, type GatewayErrorCode, gatewayErrors } from './errors.ts'
export { type Platform, startPlatform } from './platform.ts'
