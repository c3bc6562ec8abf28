export { createEnvd, ENVD_VERSION, DEFAULT_MAX_UPLOAD_BYTES, type Envd, type EnvdOptions } from './server.ts';
export { systemOsEffects, type OsEffects } from './os-effects.ts';
export { InitRequestSchema, type InitRequest } from './init-request.ts';
export { Process } from './gen/process/process_pb.ts';
