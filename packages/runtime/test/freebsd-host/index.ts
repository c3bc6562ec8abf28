import { registerBhyve, vmmState } from './bhyve.ts';
import { registerBhyvectl } from './bhyvectl.ts';
import { registerDnctl } from './dnctl.ts';
import { FreeBsdHost } from './host.ts';
import { registerIfconfig } from './ifconfig.ts';
import { registerJail } from './jail.ts';
import { pfKernel } from './pf-kernel.ts';
import { registerPfctl } from './pfctl.ts';
import { registerSystem, systemInfo } from './system.ts';

export interface ModelHostOptions {
  /** Kernel built with `options BHYVE_SNAPSHOT` (and userland WITH_BHYVE_SNAPSHOT). Default true. */
  bhyveSnapshot?: boolean;
  /** bhyve and vmm carry the vnode-restore patches (patches/). Default false: a stock FreeBSD 15 bhyve. */
  bhyveVnodePatch?: boolean;
  pfEnabled?: boolean;
  /** `set limit anchors`. Default 512 (pf's default). */
  anchorLimit?: number;
  tableEntryLimit?: number;
  pfilMember?: boolean;
  /** dummynet(4) loaded (`kldload dummynet`). Default false, as on a stock host. */
  dummynet?: boolean;
  /** net.inet.ip.forwarding / net.inet6.ip6.forwarding. Default off (0), as on a stock host. */
  forwarding?: boolean;
}

/** A FreeBSD 15 host with pf, if_bridge, tap, epair, VNET jails and vmm loaded, every tool of the model registered. */
export function createFreeBsdHost(options: ModelHostOptions = {}): FreeBsdHost {
  const host = new FreeBsdHost();
  registerPfctl(host);
  registerIfconfig(host);
  registerJail(host);
  registerSystem(host);
  registerBhyve(host);
  registerBhyvectl(host);
  registerDnctl(host);
  const conf = [
    'cpu\tHAMMER',
    'ident\tGENERIC-SNAP',
    'options\tVIMAGE',
    'device\tpf',
    ...(options.bhyveSnapshot === false ? [] : ['options\tBHYVE_SNAPSHOT']),
  ];
  host.sysctls.set('kern.conftxt', conf.join('\n'));
  host.sysctls.set('kern.osrelease', '15.0-RELEASE-p1');
  host.sysctls.set('net.link.bridge.pfil_member', options.pfilMember === false ? '0' : '1');
  host.sysctls.set('net.link.bridge.pfil_bridge', '0');
  host.sysctls.set('net.link.bridge.pfil_onlyip', '1');
  host.sysctls.set('kern.features.vimage', '1');
  host.sysctls.set('net.inet.ip.forwarding', options.forwarding ? '1' : '0');
  host.sysctls.set('net.inet6.ip6.forwarding', options.forwarding ? '1' : '0');
  if (options.dummynet) systemInfo(host).modules.add('dummynet');
  host.sysctls.set('hw.ncpu', '16');
  host.sysctls.set('hw.physmem', String(32 * 1024 ** 3));
  host.sysctls.set('hw.model', 'AMD Ryzen 9 5900HX with Radeon Graphics');
  host.sysctls.set('hw.vmm.maxcpu', '16');
  vmmState(host).vnodePatch = options.bhyveVnodePatch === true;
  // The patched vmm registers FEATURE(vmm_memseg_vnode); a stock kernel has no such oid.
  if (options.bhyveVnodePatch) host.sysctls.set('kern.features.vmm_memseg_vnode', '1');
  const pf = pfKernel(host);
  pf.enabled = options.pfEnabled ?? true;
  if (options.anchorLimit !== undefined) pf.limits.anchors = options.anchorLimit;
  if (options.tableEntryLimit !== undefined) pf.limits['table-entries'] = options.tableEntryLimit;
  return host;
}

export { FreeBsdHost, ToolFailure } from './host.ts';
