/**
 * How cubenet's FreeBSD objects are recognised. Taps keep their kernel names (tapN): bhyve's virtio-net backend
 * finds the tap backend by the "tap" prefix of the name and opens /dev/<name>, so a renamed tap would not attach.
 * Every endpoint therefore joins an interface group named after the prefix (`ifconfig -g GROUP` lists them; pf rules
 * can say `on GROUP`), and epair endpoints are renamed to cubenet's names.
 */
export function endpointGroup(prefix: string): string {
  // ifconfig(8): a group name may not end in a digit; the prefix may.
  return `${prefix}_ep`;
}

/** The jail-side end of an epair endpoint NAME (the host side is renamed to NAME itself). */
export function jailSideName(name: string): string {
  return `${name}b`;
}
