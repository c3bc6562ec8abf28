import { defineManifest } from '../../harness/define-manifest.ts';

export const netThroughputManifest = defineManifest({
  id: 'net-throughput',
  title: 'Sandbox-to-sandbox TCP throughput',
  summary:
    'TCP throughput between two sandboxes on the bridge with their policies loaded, one stream and 16 streams, IPv4 and IPv6 (iperf3).',
  script: 'packages/rigs/src/rigs/net-throughput/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'ss', 'iperf3'],
      freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'sockstat', 'kldstat', 'sysctl', 'iperf3'],
    },
    notes: [
      "Bridge netfilter active (checked in preflight): every packet crosses the firewall's forward hook.",
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox), VNET jails on epairs and `jexec`, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (cubenet level), never on a FreeBSD host, so no FreeBSD figure exists yet.",
    ],
  },
  metrics: [
    {
      name: 'throughput',
      unit: 'Gbit/s',
      description: 'TCP goodput from sandbox A to sandbox B, summed over the streams, per reporting interval.',
      labels: { family: ['ipv4', 'ipv6'], streams: ['1', '16'] },
    },
  ],
  checks: [],
  clock:
    'iperf3 client in sandbox A, server in sandbox B (each a network namespace on the bridge, or a VNET jail on FreeBSD; policies of 200 ' +
    'entries loaded, A allowing B). For each family and stream count, one iperf3 run of the configured duration with ' +
    "the first second omitted (-O 1, TCP slow start) and 0.5 s reporting intervals; each sample is one interval's " +
    'throughput summed over all streams as the sender reports it (bits per second / 1e9). Runs one after another.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run net-throughput',
  samples: { full: 16, quick: 2 },
});
