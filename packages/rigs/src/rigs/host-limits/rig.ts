/**
 * host-limits: the physical floors of this host, in one run (see manifest.ts for the clocks). Linux uses network
 * namespaces and nftables; FreeBSD uses VNET jails and pf.
 */
import { dirname } from 'node:path';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { firewallNoopArgv } from '../../lib/host/firewall-noop.ts';
import { pairTag } from '../../lib/net/endpoint-pair.ts';
import { createJailPair } from '../../lib/net/jail-pair.ts';
import { createNamespacePair } from '../../lib/net/namespace-pair.ts';
import { untilListeningFreeBsdInet4, untilListeningLinux } from '../../lib/net/until-listening.ts';
import { crossCpuPlacement, describePlacement } from '../../lib/rr/cpu-placement.ts';
import { measureCheckpointIo } from './checkpoint-io.ts';
import { measureFirewallSpawn } from './firewall-spawn.ts';
import { CHECKPOINT_SAMPLES } from './manifest.ts';
import { measurePingPong } from './namespace-rr.ts';
import { measureSigcontResume } from './sigcont.ts';

export async function preflight(ctx: PreflightContext): Promise<string[]> {
  const reasons: string[] = [];
  const argv = firewallNoopArgv(ctx.platform);
  const fw = await ctx.runner.run(argv).catch((e: Error) => ({ code: -1, stderr: e.message, stdout: '' }));
  if (fw.code !== 0) reasons.push(`\`${argv.join(' ')}\` fails: ${(fw.stderr || fw.stdout).trim().split('\n')[0]}`);
  if (ctx.platform === 'freebsd') {
    const vimage = await ctx.runner.run(['sysctl', '-n', 'kern.features.vimage']);
    if (vimage.code !== 0 || vimage.stdout.trim() !== '1')
      reasons.push('the kernel lacks VNET (kern.features.vimage is not 1)');
  } else {
    const netns = await ctx.runner.run(['ip', 'netns', 'list']);
    if (netns.code !== 0) reasons.push(`network namespaces unavailable: ${netns.stderr.trim()}`);
  }
  return reasons;
}

export async function run(ctx: RigContext): Promise<void> {
  const n = ctx.samples;
  const warmup = ctx.quick ? 1 : 10;

  await measureSigcontResume(ctx, n, warmup);
  await measureFirewallSpawn(ctx, n, warmup);

  const tag = pairTag();
  ctx.param(
    'namespaceRrEndpoints',
    `cpr-${tag}-a and cpr-${tag}-b on a bridge, ${ctx.platform === 'linux' ? 'network namespaces' : 'VNET jails'}`,
  );
  const pair = ctx.platform === 'linux' ? await createNamespacePair(ctx, tag) : await createJailPair(ctx, tag);
  const placement = crossCpuPlacement(ctx.host.cpu.threads);
  ctx.param('namespaceRrPlacement', describePlacement(placement));
  await measurePingPong(ctx, pair, {
    seconds: ctx.param('namespaceRrSeconds', ctx.quick ? 1 : 3),
    maxSamples: ctx.param('namespaceRrMaxSamples', ctx.quick ? 200 : 5000),
    port: 11111,
    placement,
    untilListening: ctx.platform === 'linux' ? untilListeningLinux : untilListeningFreeBsdInet4,
  });

  const checkpoints = ctx.param('checkpointSamples', ctx.quick ? CHECKPOINT_SAMPLES.quick : CHECKPOINT_SAMPLES.full);
  const configured = process.env.COPPICE_CHECKPOINT_DIR;
  await measureCheckpointIo(ctx, checkpoints, ctx.quick ? 0 : 1, {
    dir: configured || ctx.tmpdir,
    described: configured || `${dirname(ctx.tmpdir)} (the run's temporary folder)`,
  });
}
