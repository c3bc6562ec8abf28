import type { FreeBsdHost } from './host.ts';

/** The model's file system: the files tools read and write (disk images, firmware, checkpoints, rule files). */
export interface ModelFile {
  content: string;
  /** Size in bytes as stat(2) would report (guest memory files are large; their content is not kept). */
  size: number;
}

export function files(host: FreeBsdHost): Map<string, ModelFile> {
  return host.part('fs', () => new Map<string, ModelFile>());
}

export function writeFile(host: FreeBsdHost, path: string, content: string, size = Buffer.byteLength(content)): void {
  files(host).set(path, { content, size });
}

export function readFile(host: FreeBsdHost, path: string): string | undefined {
  return files(host).get(path)?.content;
}
