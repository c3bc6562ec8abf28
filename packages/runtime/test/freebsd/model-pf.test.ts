import { describe, expect, it } from 'vitest';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { evaluate, pfKernel } from '../freebsd-host/pf-kernel.ts';

/** The host model's pfctl must accept what pfctl(8)/pf.conf(5) accept and refuse the rest. */
const ANCHOR = 'cube/sandbox-0123456789ab';

async function load(host: ReturnType<typeof createFreeBsdHost>, anchor: string, rules: string) {
  return host.run(['pfctl', '-a', anchor, '-f', '-'], { input: rules });
}

describe('model pfctl: loading rules', () => {
  it('loads the subset the runtime emits and prints it back like pfctl -sr', async () => {
    const host = createFreeBsdHost();
    const r = await load(
      host,
      ANCHOR,
      [
        'table <sandbox_allow> persist { 192.0.2.80, 2001:db8::/64 }',
        'table <sandbox_dns> persist {}',
        'block drop in quick on tap0 from 10.77.0.5 to <sandbox_deny> label "sb"',
        'pass in quick on tap0 proto { tcp, udp } from 10.77.0.5 to <sandbox_dns> port 53',
        'pass in quick on em0 inet proto tcp from any to (em0) port 8080 rdr-to 10.77.0.5 port 80',
        'block drop in quick on tap0 all',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    const sr = await host.run(['pfctl', '-a', ANCHOR, '-sr']);
    expect(sr.stdout.split('\n')).toEqual([
      'block drop in quick on tap0 inet from 10.77.0.5 to <sandbox_deny> label "sb"',
      'pass in quick on tap0 inet proto tcp from 10.77.0.5 to <sandbox_dns> port = domain flags S/SA keep state',
      'pass in quick on tap0 inet proto udp from 10.77.0.5 to <sandbox_dns> port = domain keep state',
      'pass in quick on em0 inet proto tcp from any to (em0) port = 8080 flags S/SA keep state rdr-to 10.77.0.5 port 80',
      'block drop in quick on tap0 all',
      '',
    ]);
    const show = await host.run(['pfctl', '-a', ANCHOR, '-t', 'sandbox_allow', '-T', 'show']);
    expect(show.stdout).toBe('   192.0.2.80\n   2001:db8::/64\n');
  });

  it.each([
    ['an unknown keyword', 'pass in quick frobnicate all', 'stdin:1: syntax error'],
    ['a port without tcp/udp', 'pass in quick from any to any port 53', 'stdin:1: port only applies to tcp/udp'],
    [
      'rdr-to on an outbound rule',
      'pass out quick proto tcp to any port 80 rdr-to 10.0.0.1',
      'rdr-to can only be used inbound',
    ],
    ['nat-to on an inbound rule', 'pass in quick from 10.0.0.0/8 nat-to (em0)', 'nat-to can only be used outbound'],
    ['an unquoted anchor path', 'anchor cube/*', 'stdin:1: syntax error'],
    ['a bad address', 'pass in quick from 10.0.0.300 to any', 'stdin:1:'],
    ['a host name (no DNS)', 'pass in quick from example to any', 'no IP address found for example'],
    ['a port out of range', 'pass in quick proto tcp to any port 70000', 'illegal port value 70000'],
    ['a mixed address family', 'pass in quick from 10.0.0.1 to fd00::1', 'rule expands to no valid combination'],
    ['rule text smuggled after a newline', 'pass in quick all\n}; block all {', 'stdin:2: syntax error'],
    ['an overlong label', `pass in all label "${'x'.repeat(64)}"`, 'rule label too long'],
    // parse.y check_rulestate(): translation before filtering.
    [
      'a nat rule after a filter rule',
      'pass in quick all\nnat on em0 inet from 10.77.0.0/24 to any -> (em0)',
      `stdin:2: Rules must be in order: options, ethernet, normalization, queueing, translation, filtering`,
    ],
    [
      'a nat rule after an anchor call',
      'anchor "inner" all\nnat on em0 inet from 10.77.0.0/24 to any -> (em0)',
      'stdin:2: Rules must be in order',
    ],
    // parse.y anchorrule: '_' at the start of any path component is reserved.
    [
      'an anchor path with a /_ component',
      'anchor "cube/_x" all',
      "anchor names beginning with '_' are reserved for internal use",
    ],
    ['an anchor name starting with _', 'anchor "_x" all', "anchor names beginning with '_' are reserved"],
    // filter_consistent().
    [
      'rdr-to without keep state',
      'pass in quick on em0 inet proto tcp from any to any port 80 rdr-to 10.77.0.5 port 8080 no state',
      'nat-to and rdr-to require keep state',
    ],
    [
      'nat-to without keep state',
      'pass out quick on em0 inet from 10.77.0.0/24 to any nat-to (em0) no state',
      'nat-to and rdr-to require keep state',
    ],
    [
      'rdr-to without a direction',
      'pass quick on em0 inet proto tcp from any to any port 80 rdr-to 10.77.0.5',
      'nat-to and rdr-to require a direction',
    ],
    [
      'rdr-to on a block rule',
      'block in quick on em0 inet proto tcp from any to any port 80 rdr-to 10.77.0.5',
      'only valid with pass and match rules',
    ],
    [
      'keep state on a block rule',
      'block drop in quick on tap0 all keep state',
      'keep state is great, but only for pass rules',
    ],
    // filter_opt markers and sizes.
    ['keep state given twice', 'pass in quick all keep state no state', 'modulate or keep cannot be redefined'],
    ['flags given twice', 'pass in quick proto tcp all flags S/SA flags S/SA', 'flags cannot be redefined'],
    ['flags outside their mask', 'pass in quick proto tcp all flags S/A', 'flags always false'],
    [
      'icmp6-type given twice',
      'pass in quick inet6 proto icmp6 all icmp6-type echoreq icmp6-type echorep',
      'icmp-type cannot be redefined',
    ],
    ['six labels', `pass in quick all ${'label "a" '.repeat(6)}`, 'label can only be used 5 times'],
    ['an overlong tag', `pass in quick all tag ${'t'.repeat(64)}`, 'tag too long, max 63 chars'],
    // parse.y tabledef / table_opt.
    ['an overlong table name', `table <${'t'.repeat(32)}> persist`, 'table name too long, max 31 chars'],
    ['an unknown table option', 'table <t> persistent { 10.0.0.1 }', "invalid table option 'persistent'"],
    [
      'a dynamic address in a table',
      'table <t> persist { (em0) }',
      'dynamic addresses are not permitted inside tables',
    ],
    ['a table inside a table', 'table <t> persist { <u> }', 'tables cannot contain tables'],
  ])('refuses %s and loads nothing', async (_what, text, message) => {
    const host = createFreeBsdHost();
    const r = await load(host, ANCHOR, text);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('pf rules not loaded');
    expect(pfKernel(host).rulesets.has(ANCHOR)).toBe(false);
  });

  it('accepts the same lines in section order: translation before filtering, tables anywhere, five labels', async () => {
    const host = createFreeBsdHost();
    const r = await load(
      host,
      '',
      [
        'table <t> persist { 10.1.0.0/16 }',
        'nat on em0 inet from 10.77.0.0/24 to any -> (em0)',
        'table <u> persist {}',
        'anchor "cube/*" all',
        `pass in quick all ${'label "a" '.repeat(5)}`,
        'pass in quick on em0 inet proto tcp from any to any port 80 rdr-to 10.77.0.5 port 8080',
        'pass out quick on em0 inet from 10.77.0.0/24 to any nat-to (em0)',
      ].join('\n'),
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('enforces the anchors limit on load and on table creation', async () => {
    const host = createFreeBsdHost({ anchorLimit: 3 });
    expect((await load(host, 'cube/sandbox-000000000001', 'block drop in quick on tap0 all')).code).toBe(0);
    expect((await load(host, 'cube/sandbox-000000000002', 'block drop in quick on tap1 all')).code).toBe(0);
    const third = await load(host, 'cube/sandbox-000000000003', 'block drop in quick on tap2 all');
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('Cannot allocate memory');
    const table = await host.run(['pfctl', '-a', 'cube/sandbox-000000000004', '-t', 'x', '-T', 'add', '10.0.0.1']);
    expect(table.code).toBe(1);
  });

  it('an anchor flushed with -F all disappears from -sA', async () => {
    const host = createFreeBsdHost();
    await load(host, ANCHOR, 'table <t> persist { 10.1.0.0/16 }\nblock drop in quick on tap0 all');
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout).toBe(`  ${ANCHOR}\n`);
    expect((await host.run(['pfctl', '-sA'])).stdout).toBe(`  cube\n  ${ANCHOR}\n`);
    expect((await host.run(['pfctl', '-a', 'nope', '-sA'])).stderr).toBe("Anchor 'nope' not found.\n");
    expect((await host.run(['pfctl', '-a', ANCHOR, '-F', 'all'])).code).toBe(0);
    expect((await host.run(['pfctl', '-sA'])).stdout).toBe('');
  });
});

describe('model pfctl: tables', () => {
  it('add creates a persistent table; replace from stdin is one change; bad addresses change nothing', async () => {
    const host = createFreeBsdHost();
    const add = await host.run([
      'pfctl',
      '-a',
      ANCHOR,
      '-t',
      'sandbox_allow',
      '-T',
      'add',
      '192.0.2.1',
      '198.51.100.0/24',
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('2/2 addresses added.');
    const rep = await host.run(['pfctl', '-a', ANCHOR, '-t', 'sandbox_allow', '-T', 'replace', '-f', '-'], {
      input: '# comment\n203.0.113.7\n2001:db8::1 ; trailing\n',
    });
    expect(rep.code, rep.stderr).toBe(0);
    expect((await host.run(['pfctl', '-a', ANCHOR, '-t', 'sandbox_allow', '-T', 'show'])).stdout).toBe(
      '   203.0.113.7\n   2001:db8::1\n',
    );
    for (const bad of ['10.0.0.1/8', '300.1.1.1', 'example.org', '10.0.0.0/33']) {
      const r = await host.run(['pfctl', '-a', ANCHOR, '-t', 'sandbox_allow', '-T', 'add', '192.0.2.9', bad]);
      expect(r.code, bad).toBe(1);
    }
    expect((await host.run(['pfctl', '-a', ANCHOR, '-t', 'sandbox_allow', '-T', 'show'])).stdout).toBe(
      '   203.0.113.7\n   2001:db8::1\n',
    );
  });

  it('enforces table-entries', async () => {
    const host = createFreeBsdHost({ tableEntryLimit: 2 });
    const r = await host.run(['pfctl', '-a', ANCHOR, '-t', 't', '-T', 'add', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot allocate memory');
  });

  it('show on a missing table fails like pfctl', async () => {
    const host = createFreeBsdHost();
    const r = await host.run(['pfctl', '-a', ANCHOR, '-t', 'nope', '-T', 'show']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pfctl: Table does not exist.\n');
  });
});

describe('model pf: packet evaluation and states', () => {
  it('evaluates cube/* anchors first-match-with-quick and keeps states until killed', async () => {
    const host = createFreeBsdHost();
    await load(host, '', 'anchor "cube/*" all');
    await load(
      host,
      ANCHOR,
      'pass in quick on tap0 from 10.77.0.5 to 192.0.2.80 label "sb-a"\nblock drop in quick on tap0 all',
    );
    const out = {
      direction: 'in',
      iface: 'tap0',
      proto: 'tcp',
      src: '10.77.0.5',
      sport: 40000,
      dst: '192.0.2.80',
      dport: 80,
    } as const;
    expect(evaluate(host, out).action).toBe('pass');
    expect(evaluate(host, { ...out, dst: '10.77.0.6' }).action).toBe('block');
    expect((await host.run(['pfctl', '-ss'])).stdout).toContain('all tcp 192.0.2.80:80 <- 10.77.0.5:40000');
    // Withdraw access: the rule goes, the state still lets the connection through until it is killed.
    await load(host, ANCHOR, 'block drop in quick on tap0 all');
    expect(evaluate(host, out).viaState).toBeDefined();
    const kill = await host.run(['pfctl', '-k', 'label', '-k', 'sb-a']);
    expect(kill.stderr).toContain('killed 1 states');
    expect(evaluate(host, out).action).toBe('block');
  });

  it('-e/-d report the state like pfctl, and -s info shows it', async () => {
    const host = createFreeBsdHost({ pfEnabled: false });
    expect((await host.run(['pfctl', '-s', 'info'])).stdout).toMatch(/^Status: Disabled/);
    expect((await host.run(['pfctl', '-d'])).stderr).toBe('pfctl: pf not enabled\n');
    expect((await host.run(['pfctl', '-e'])).stderr).toBe('pf enabled\n');
    expect((await host.run(['pfctl', '-e'])).stderr).toBe('pfctl: pf already enabled\n');
    expect((await host.run(['pfctl', '-sm'])).stdout).toContain('anchors       hard limit      512');
  });
});
