export { buildApp, API_VERSION } from './app.ts';
export { loadConfig, ConfigError, CONFIG_VARIABLES, type Config } from './config/config.ts';
export { createServices, StartupError, type Services } from './services.ts';
export type { AppContext } from './context.ts';
