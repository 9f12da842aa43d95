/**
 * The host side of an EVPN network: the exact `ip` commands OpenNebula's `vxlan` driver runs on
 * a host when the first VM of the network arrives (`vnm_mad/remotes/lib/vlan.rb` activate +
 * `vxlan/vxlan.rb` create_vlan_dev), and when the last one leaves (deactivate).
 *
 * With `VXLAN_MODE=evpn` and `VXLAN_TEP=local_ip` the device gets `local <first IP of PHYDEV>`,
 * which zebra reads as the VTEP address; no `dstport` is passed, so the kernel default (8472)
 * applies on every host alike.
 */
import { ConfigError, describe, integerIn, ipv4 } from "../validation";
import type { EvpnNetworkTemplate } from "./evpn-network";
import { MAX_VNI } from "./evpn-network";

/** The attributes of the network the driver reads (`BRIDGE` is optional, as in OpenNebula). */
export type VxlanNetworkAttributes = Pick<EvpnNetworkTemplate, "PHYDEV" | "VLAN_ID" | "MTU" | "IP_LINK_CONF"> & { BRIDGE?: string };

/** Options of {@link planVxlanDevice}. */
export interface VxlanDeviceOptions {
    /** `:vxlan_ttl:` of OpenNebulaNetwork.conf; `null` when the key is removed. Default 16 (the shipped conf). */
    ttl?: number | null;
}

/** What the driver creates on one host for one network. */
export interface VxlanDevicePlan {
    /** Bridge name, `onebr.<VLAN_ID>` unless the network sets BRIDGE. */
    bridge: string;
    /** VXLAN device name, `<PHYDEV>.<VLAN_ID>`. */
    device: string;
    /** The VNI. */
    vni: number;
    /** MTU of the VXLAN device (the bridge follows it). */
    mtu: number;
    /** The VTEP address (the host's PHYDEV address). */
    localIp: string;
    /** argv of each command run when the first VM of the network arrives, in order. */
    create: string[][];
    /** argv of each command run when the last VM of the network leaves, in order. */
    remove: string[][];
}

/** Linux limit on interface names (IFNAMSIZ − 1). */
export const MAX_INTERFACE_NAME = 15;

/**
 * Plans the bridge and VXLAN device of a network on a host whose PHYDEV (wg0) address is `localIp`.
 *
 * @example planVxlanDevice(evpnNetworkTemplate({ vlanId: 100 }), "192.168.0.2").create
 * // [["ip","link","add","name","onebr.100","type","bridge"], ["ip","link","set","onebr.100","up"],
 * //  ["ip","link","add","wg0.100","mtu","1370","type","vxlan","id","100","ttl","16","local","192.168.0.2","nolearning"],
 * //  ["ip","link","set","wg0.100","up"], ["ip","link","set","wg0.100","master","onebr.100"]]
 * @throws ConfigError naming `VLAN_ID`, `MTU`, `PHYDEV`, `BRIDGE`, `IP_LINK_CONF`, `localIp` or `ttl`.
 */
export function planVxlanDevice(network: VxlanNetworkAttributes, localIp: string, options: VxlanDeviceOptions = {}): VxlanDevicePlan {
    const vni = integerIn("VLAN_ID", toInteger(network.VLAN_ID), 1, MAX_VNI);
    const mtu = integerIn("MTU", toInteger(network.MTU), 68, 65535);
    const local = ipv4("localIp", localIp);
    const device = checkName(`${network.PHYDEV}.${vni}`, "PHYDEV", "VXLAN device name (PHYDEV.VLAN_ID)");
    const bridge = checkName(network.BRIDGE ?? `onebr.${vni}`, "BRIDGE", "bridge name");
    const ttl = options.ttl === undefined ? 16 : options.ttl;
    const ttlArgs = ttl === null ? [] : ["ttl", String(integerIn("ttl", ttl, 1, 255))];
    const linkConf = parseIpLinkConf(network.IP_LINK_CONF);
    return {
        bridge,
        device,
        vni,
        mtu,
        localIp: local,
        create: [
            ["ip", "link", "add", "name", bridge, "type", "bridge"],
            ["ip", "link", "set", bridge, "up"],
            ["ip", "link", "add", device, "mtu", String(mtu), "type", "vxlan", "id", String(vni), ...ttlArgs, "local", local, ...linkConf],
            ["ip", "link", "set", device, "up"],
            ["ip", "link", "set", device, "master", bridge],
        ],
        remove: [
            ["ip", "link", "delete", device],
            ["ip", "link", "delete", bridge],
        ],
    };
}

/**
 * Turns `IP_LINK_CONF` (`opt1=val1,opt2=,…`) into `ip link add` arguments the way the driver does:
 * an empty value gives the bare flag, `true`/`false` give `on`/`off`.
 * `"nolearning="` → `["nolearning"]`; `"dstport=4789,nolearning="` → `["dstport","4789","nolearning"]`.
 */
export function parseIpLinkConf(value: string | undefined): string[] {
    if (value === undefined || value.trim() === "") {
        return [];
    }
    return value.split(",").flatMap((entry, index) => {
        const [option, ...rest] = entry.split("=");
        const argument = rest.join("=");
        if (!/^[a-z0-9_]+$/.test(option) || !/^[A-Za-z0-9_.:-]*$/.test(argument)) {
            throw new ConfigError("IP_LINK_CONF", `entry ${index + 1} must look like option=value or option= (got ${describe(entry)})`);
        }
        const mapped = argument === "true" ? "on" : argument === "false" ? "off" : argument;
        return mapped === "" ? [option] : [option, mapped];
    });
}

function checkName(name: string, field: string, what: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
        throw new ConfigError(field, `the ${what} ${describe(name)} may only contain letters, digits, ".", "_" and "-"`);
    }
    if (name.length > MAX_INTERFACE_NAME) {
        throw new ConfigError(
            field,
            `the ${what} "${name}" has ${name.length} characters; Linux interface names are limited to ${MAX_INTERFACE_NAME}`,
        );
    }
    return name;
}

function toInteger(value: string | undefined): number | string | undefined {
    return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : value;
}
