/** Which of the two supported platforms this process runs on, and whether it runs as root. */
export type HostPlatform = 'linux' | 'freebsd';

export const hostPlatforms: readonly HostPlatform[] = ['linux', 'freebsd'];

/** The supported platform Node reports, or undefined on anything else (macOS, Windows...). */
export function platformOf(nodePlatform: string): HostPlatform | undefined {
  return (hostPlatforms as readonly string[]).includes(nodePlatform) ? (nodePlatform as HostPlatform) : undefined;
}

/** The platform of this process; throws on an unsupported one, naming it. */
export function detectPlatform(nodePlatform: string = process.platform): HostPlatform {
  const p = platformOf(nodePlatform);
  if (!p) throw new Error(`unsupported platform "${nodePlatform}": Coppice runs on linux and freebsd`);
  return p;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
