export class NetPrerequisiteError extends Error {
  constructor(readonly reasons: string[]) {
    super(`cubenet cannot run on this host:\n  - ${reasons.join('\n  - ')}`);
    this.name = 'NetPrerequisiteError';
  }
}

export class UnknownSandboxError extends Error {
  constructor(readonly id: string) {
    super(`no such sandbox: ${id}`);
    this.name = 'UnknownSandboxError';
  }
}
