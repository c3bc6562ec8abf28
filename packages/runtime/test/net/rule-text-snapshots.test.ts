/**
 * The rule text both firewall renderers produce for a fixed set of policies, compared with committed files in
 * test/snapshots/ (vitest's toMatchFileSnapshot: a renderer change shows as a diff of those files in review, without
 * root or a kernel). After an intended change: `npx vitest run test/net/rule-text-snapshots.test.ts -u`, then review
 * and commit the changed files. Without -u a difference fails with a line diff, and a missing file fails under CI.
 */
import { describe, expect, it } from 'vitest';
import { renderInit, renderSandbox } from '../../src/net/firewall/nftables/render.ts';
import { renderRootRuleset, renderSandboxAnchor } from '../../src/net/firewall/pf/render.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { FIXTURES } from '../snapshots/fixtures.ts';

const TABLE = 'cps';
const SUBNETS = { ipv4Subnet: '10.77.0.0/24', ipv6Subnet: 'fd77::/64' };
const snapshot = (file: string) => `../snapshots/${file}`;

function pfAnchor(f: (typeof FIXTURES)[number]): string {
  return renderSandboxAnchor({
    id: f.id,
    addresses: f.addresses,
    policy: f.policy,
    forwards: f.forwards,
    hostInterface: 'tap0',
    endpointGroup: `${TABLE}_ep`,
    tag: `${TABLE}_pass`,
    ...SUBNETS,
    ...(f.dnpipe !== undefined ? { dnpipe: f.dnpipe } : {}),
  });
}

describe('rule text snapshots', () => {
  it('root: the nft table and the pf main-ruleset hook', async () => {
    await expect(renderInit({ table: TABLE, bridge: `${TABLE}-br`, ...SUBNETS })).toMatchFileSnapshot(
      snapshot('root.nft'),
    );
    await expect(
      renderRootRuleset({ anchorRoot: 'cube', endpointGroup: `${TABLE}_ep`, egressInterface: 'em0', ...SUBNETS }),
    ).toMatchFileSnapshot(snapshot('root.pf'));
  });

  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s', async (name, f) => {
    const nft = renderSandbox(
      TABLE,
      {
        id: f.id,
        addresses: f.addresses,
        policy: f.policy,
        forwards: f.forwards,
        hostInterface: `${TABLE}-e${f.id.slice(-8)}`,
      },
      new Map(),
    );
    await expect(nft).toMatchFileSnapshot(snapshot(`${name}.nft`));
    const pf = pfAnchor(f);
    await expect(pf).toMatchFileSnapshot(snapshot(`${name}.pf`));
    // The committed pf text is text FreeBSD's pfctl would load: the host model's parser accepts it.
    const host = createFreeBsdHost();
    const load = await host.run(['pfctl', '-a', `cube/sandbox-${f.id}`, '-f', '-'], { input: pf });
    expect(load.code, load.stderr).toBe(0);
  });
});
