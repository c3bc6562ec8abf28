import { readFile } from 'node:fs/promises';

/** One line of /etc/passwd: who a process runs as, and which home relative paths start from. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Users and group names of the guest, read fresh per request so accounts added after boot are seen. */
export interface AccountDb {
  user(name: string): Account | undefined;
  userName(uid: number): string;
  groupName(gid: number): string;
}

export interface AccountFiles {
  passwd: string;
  group: string;
}

export const SYSTEM_ACCOUNT_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' };

function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

export async function loadAccounts(files: AccountFiles = SYSTEM_ACCOUNT_FILES): Promise<AccountDb> {
  const [passwd, group] = await Promise.all([
    readFile(files.passwd, 'utf8'),
    readFile(files.group, 'utf8').catch(() => ''),
  ]);
  const users = new Map<string, Account>();
  const userNames = new Map<number, string>();
  for (const [name, , uid, gid, , home, shell] of parseColonFile(passwd)) {
    if (!name || uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    const account = { name, uid: Number(uid), gid: Number(gid), home: home || '/', shell: shell || '/bin/sh' };
    users.set(name, account);
    if (!userNames.has(account.uid)) userNames.set(account.uid, name);
  }
  const groupNames = new Map<number, string>();
  for (const [name, , gid] of parseColonFile(group)) {
    if (name && gid !== undefined && /^\d+$/.test(gid) && !groupNames.has(Number(gid)))
      groupNames.set(Number(gid), name);
  }
  return {
    user: (name) => users.get(name),
    userName: (uid) => userNames.get(uid) ?? String(uid),
    groupName: (gid) => groupNames.get(gid) ?? String(gid),
  };
}
