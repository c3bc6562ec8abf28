import { describe, expect, it } from 'vitest';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { jailState } from '../freebsd-host/jail.ts';
import { netState } from '../freebsd-host/netif.ts';

/** The model's ifconfig(8), jail(8), jexec(8), sysctl(8) and kldstat(8). */
describe('model ifconfig', () => {
  it('creates cloned interfaces, printing the name the kernel chose', async () => {
    const h = createFreeBsdHost();
    expect((await h.run(['ifconfig', 'tap', 'create'])).stdout).toBe('tap0\n');
    expect((await h.run(['ifconfig', 'tap', 'create'])).stdout).toBe('tap1\n');
    expect((await h.run(['ifconfig', 'epair', 'create'])).stdout).toBe('epair0a\n');
    expect((await h.run(['ifconfig', 'bridge', 'create'])).stdout).toBe('bridge0\n');
    expect((await h.run(['ifconfig', 'tap7', 'create'])).stdout).toBe('');
    expect((await h.run(['ifconfig', 'tap7', 'create'])).stderr).toBe('ifconfig: SIOCIFCREATE2 (tap7): File exists\n');
    expect((await h.run(['ifconfig', '-l'])).stdout).toBe('lo0 em0 tap0 tap1 epair0a epair0b bridge0 tap7\n');
    // A renamed interface keeps its unit: the next epair is epair1, as with the kernel's unit allocator.
    await h.run(['ifconfig', 'epair0a', 'name', 'cpt-e1']);
    expect((await h.run(['ifconfig', 'epair', 'create'])).stdout).toBe('epair1a\n');
  });

  it.each([
    [['ifconfig', 'foo', 'create'], 'SIOCIFCREATE2 (foo): Invalid argument'],
    [['ifconfig', 'tap0;reboot', 'create'], 'does not exist'],
    [['ifconfig', 'averyveryverylongname', 'up'], 'does not exist'],
    [['ifconfig', 'tap9', 'destroy'], 'interface tap9 does not exist'],
    [['ifconfig', 'em0', 'destroy'], 'SIOCIFDESTROY: Invalid argument'],
    [['ifconfig', 'lo0', 'frobnicate'], 'frobnicate: bad value'],
    [['ifconfig', 'lo0', 'group', 'grp1'], 'setifgroup: Invalid argument'],
    [['ifconfig', 'lo0', 'inet', '10.0.0.300/24'], 'error in parsing address string'],
    [['ifconfig', 'lo0', 'inet6', '10.0.0.1/24'], 'error in parsing address string'],
  ])('refuses %j', async (argv, message) => {
    const h = createFreeBsdHost();
    const r = await h.run(argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('bridges members, refuses a second bridge for one member, and destroys both ends of an epair', async () => {
    const h = createFreeBsdHost();
    await h.run(['ifconfig', 'bridge', 'create']);
    await h.run(['ifconfig', 'bridge', 'create']);
    await h.run(['ifconfig', 'epair', 'create']);
    expect((await h.run(['ifconfig', 'bridge0', 'addm', 'epair0a', 'up'])).code).toBe(0);
    expect((await h.run(['ifconfig', 'bridge1', 'addm', 'epair0a'])).stderr).toContain('BRDGADD epair0a: File exists');
    expect((await h.run(['ifconfig', 'bridge0', 'addm', 'tap3'])).stderr).toContain(
      'BRDGADD tap3: No such file or directory',
    );
    expect((await h.run(['ifconfig', 'bridge0'])).stdout).toContain('member: epair0a');
    await h.run(['ifconfig', 'epair0b', 'destroy']);
    expect(netState(h).interfaces.has('epair0a')).toBe(false);
    expect(netState(h).interfaces.get('bridge0')!.members).toEqual([]);
  });
});

describe('model jail, jexec, sysctl, kldstat', () => {
  it('a VNET jail takes its interface and gives it back on removal', async () => {
    const h = createFreeBsdHost();
    await h.run(['ifconfig', 'epair', 'create']);
    const c = await h.run(['jail', '-c', 'name=cpt-e1', 'vnet', 'vnet.interface=epair0b', 'persist']);
    expect(c.stdout).toBe('cpt-e1: created\n');
    expect((await h.run(['ifconfig', 'epair0b'])).stderr).toContain('does not exist');
    expect((await h.run(['jexec', 'cpt-e1', 'ifconfig', 'epair0b', 'inet', '10.77.0.9/24', 'alias'])).code).toBe(0);
    expect((await h.run(['jexec', 'cpt-e1', 'route', 'add', 'default', '10.77.0.1'])).stdout).toBe(
      'add net default: gateway 10.77.0.1\n',
    );
    expect((await h.run(['jexec', 'cpt-e1', 'ifconfig', '-l'])).stdout).toBe('epair0b\n');
    expect((await h.run(['jls', 'name'])).stdout).toBe('cpt-e1\n');
    expect((await h.run(['jail', '-r', 'cpt-e1'])).stdout).toBe('cpt-e1: removed\n');
    expect(netState(h).interfaces.get('epair0b')?.vnet).toBeNull();
    expect(jailState(h).jails.size).toBe(0);
  });

  it.each([
    [['jail', '-c', 'name=x', 'vnet', 'vnet.interface=epair9b', 'persist'], 'failed'],
    [['jail', '-c', 'name=x', 'vnet.interface=epair0b', 'persist'], 'vnet is not set'],
    [['jail', '-c', 'name=x', 'color=red', 'persist'], 'unknown parameter: color'],
    [['jail', '-c', 'name=a.b;c', 'persist'], 'invalid jail name'],
    [['jail', '-c', 'name=x'], 'no command specified and not persistent'],
    [['jail', '-r', 'nope'], '"nope" not found'],
    [['jexec', 'nope', 'ifconfig'], 'jail "nope" not found'],
  ])('refuses %j', async (argv, message) => {
    const h = createFreeBsdHost();
    await h.run(['ifconfig', 'epair', 'create']);
    const r = await h.run(argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('sysctl and kldstat answer from the host', async () => {
    const h = createFreeBsdHost({ pfilMember: false });
    expect((await h.run(['sysctl', '-n', 'net.link.bridge.pfil_member'])).stdout).toBe('0\n');
    expect((await h.run(['sysctl', 'net.link.bridge'])).stdout).toContain('net.link.bridge.pfil_member: 0\n');
    expect((await h.run(['sysctl', 'no.such.oid'])).stderr).toBe("sysctl: unknown oid 'no.such.oid'\n");
    expect((await h.run(['kldstat', '-q', '-m', 'vmm'])).code).toBe(0);
    expect((await h.run(['kldstat', '-q', '-m', 'ipfw'])).code).toBe(1);
    expect((await h.run(['sysctl', '-n', 'kern.conftxt'])).stdout).toContain('options\tBHYVE_SNAPSHOT');
  });
});
