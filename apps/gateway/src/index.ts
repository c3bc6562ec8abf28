export { Gateway } from './server.ts';
export { gatewayConfig, type GatewayConfig } from './config.ts';
export type { SandboxBackend, SandboxSpec, TemplateSpec, RunningSandbox, MetricSample } from './sandboxes/backend.ts';
export { createApiKey } from './auth/api-keys.ts';
export { Store } from './store/store.ts';
export { openRuntimeBackend, GUEST_ENVD_VERSION } from './sandboxes/runtime-backend.ts';
export { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from './local-gateway.ts';
