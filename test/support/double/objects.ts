/**
 * The state the double keeps per object kind. Plain data; behaviour lives in the kind modules
 * (cluster.ts, host.ts, …). To add a kind: add its interface here, a pool in world.ts, and a module
 * that registers its methods in one-double.ts.
 *
 * The state codes below are written out from oned's sources on purpose, not imported from
 * components/opennebula/states.ts: the double stands for oned, so a wrong code in the package must
 * disagree with it rather than be copied into it.
 */
import type { PoolObject } from "./pool";
import type { OneTemplate, Vector } from "./template";

/** Host `STATE` values (6.x). */
export const HostState = { INIT: 0, MONITORED: 2, ERROR: 3, DISABLED: 4, OFFLINE: 8 } as const;

/** VNET `STATE` values. */
export const VnetState = { INIT: 0, READY: 1, LOCK_CREATE: 2, LOCK_DELETE: 3, DONE: 4, ERROR: 5, UPDATE_FAILURE: 6 } as const;

/** Image `STATE` values. */
export const ImageState = {
    INIT: 0,
    READY: 1,
    USED: 2,
    DISABLED: 3,
    LOCKED: 4,
    ERROR: 5,
    CLONE: 6,
    DELETE: 7,
    USED_PERS: 8,
    LOCKED_USED: 9,
    LOCKED_USED_PERS: 10,
} as const;

/** Image `TYPE` values, in `Image::ImageType` order. */
export const IMAGE_TYPES = ["OS", "CDROM", "DATABLOCK", "KERNEL", "RAMDISK", "CONTEXT", "BACKUP"] as const;

/** VM `STATE` values (`VirtualMachine::VmState`). */
export const VmState = {
    INIT: 0,
    PENDING: 1,
    HOLD: 2,
    ACTIVE: 3,
    STOPPED: 4,
    SUSPENDED: 5,
    DONE: 6,
    POWEROFF: 8,
    UNDEPLOYED: 9,
    CLONING: 10,
    CLONING_FAILURE: 11,
} as const;

/** The VM `LCM_STATE` values the double uses (`VirtualMachine::LcmState`). */
export const LcmState = {
    LCM_INIT: 0,
    PROLOG: 1,
    BOOT: 2,
    RUNNING: 3,
    EPILOG: 11,
    SHUTDOWN: 12,
    SHUTDOWN_POWEROFF: 18,
    BOOT_POWEROFF: 20,
    HOTPLUG_NIC: 25,
} as const;

/** Marketplace app `STATE` values. */
export const MarketAppState = { INIT: 0, READY: 1, LOCKED: 2, ERROR: 3, DISABLED: 4 } as const;

/** Datastore `TYPE` values. */
export const DatastoreType = { IMAGE_DS: 0, SYSTEM_DS: 1, FILE_DS: 2, BACKUP_DS: 3 } as const;

/** A cluster: its template and the IDs of its member hosts, datastores and VNETs. */
export interface ClusterObject extends PoolObject {
    template: OneTemplate;
    hosts: Set<number>;
    datastores: Set<number>;
    vnets: Set<number>;
}

/** A host: state, drivers, its single cluster and its template. */
export interface HostObject extends PoolObject {
    state: number;
    imMad: string;
    vmMad: string;
    /** A host is in exactly one cluster. */
    clusterId: number;
    /** Whether monitoring has reported capacity (cleared by offline). */
    hasCapacity: boolean;
    template: OneTemplate;
}

/** A datastore: drivers, type, the clusters it belongs to and its template. */
export interface DatastoreObject extends PoolObject {
    clusters: Set<number>;
    dsMad: string;
    tmMad: string;
    basePath: string;
    type: number;
    diskType: number;
    /** 0 READY, 1 DISABLED. */
    state: number;
    template: OneTemplate;
}

/** Who holds a lease: a VM, a virtual router (floating IP) or a VNET (reservation). */
export interface LeaseOwner {
    kind: "VM" | "VROUTER" | "VNET";
    id: number;
}

/** One address range of a VNET, as stored after parsing. */
export interface AddressRange {
    id: number;
    /** Every stored attribute (AR_ID, TYPE, IP, MAC, SIZE, custom keys…). */
    attributes: Vector;
    size: number;
    /** First MAC as [upper 16 bits, lower 32 bits]. */
    mac: [number, number];
    /** First IPv4 address as an unsigned 32-bit number, for IPv4 types. */
    ipv4?: number;
    /** Leases in use: address index within the range → owner. */
    leases: Map<number, LeaseOwner>;
    /** Where the search for a free address starts (oned's rotating `next`). */
    nextIndex: number;
    /** Whether a lease was ever taken or freed: from then on the stored AR carries ALLOCATED. */
    allocatedTouched: boolean;
}

/** A virtual network: core fields shown outside TEMPLATE, its clusters, template and address ranges. */
export interface VnetObject extends PoolObject {
    clusters: Set<number>;
    state: number;
    bridge: string;
    bridgeType: string;
    vnMad: string;
    phydev: string;
    vlanId: string;
    vlanIdAutomatic: boolean;
    outerVlanId: string;
    outerVlanIdAutomatic: boolean;
    template: OneTemplate;
    addressRanges: AddressRange[];
    nextArId: number;
    /** Virtual routers with a NIC in this network (`VROUTERS`). */
    vrouters: Set<number>;
}

/** A virtual network template: registration time and template. */
export interface VnTemplateObject extends PoolObject {
    regtime: number;
    template: OneTemplate;
}

/** An image: core fields shown outside TEMPLATE, its datastore, the VMs using it and its template. */
export interface ImageObject extends PoolObject {
    regtime: number;
    /** Index into {@link IMAGE_TYPES}. */
    type: number;
    diskType: number;
    persistent: boolean;
    source: string;
    path: string;
    format: string;
    fs: string;
    /** In MB. */
    size: number;
    state: number;
    prevState: number;
    datastoreId: number;
    datastoreName: string;
    /** VMs whose DISK uses the image (`VMS`, `RUNNING_VMS`). */
    vms: Set<number>;
    template: OneTemplate;
}

/** A VM template: registration time and template. */
export interface VmTemplateObject extends PoolObject {
    regtime: number;
    template: OneTemplate;
}

/** A marketplace app: core fields shown outside TEMPLATE and its template (LINK, VMTEMPLATE64, …). */
export interface MarketAppObject extends PoolObject {
    regtime: number;
    zoneId: string;
    originId: string;
    source: string;
    md5: string;
    /** In MB. */
    size: number;
    description: string;
    version: string;
    format: string;
    /** base64 of the image template the app exports. */
    appTemplate64: string;
    marketplaceId: number;
    marketplace: string;
    state: number;
    /** 1 IMAGE, 2 VMTEMPLATE, 3 SERVICE_TEMPLATE. */
    type: number;
    template: OneTemplate;
}

/** A virtual router: its VMs and its template (NIC vectors, TEMPLATE_ID, KEEPALIVED_*). */
export interface VrouterObject extends PoolObject {
    vms: Set<number>;
    template: OneTemplate;
}

/**
 * A virtual machine: dispatch and life-cycle state, its core template (`TEMPLATE`: CPU, MEMORY, NIC,
 * NIC_ALIAS, DISK, CONTEXT, …) and the rest of what it was created with (`USER_TEMPLATE`).
 */
export interface VmObject extends PoolObject {
    state: number;
    lcmState: number;
    prevState: number;
    prevLcmState: number;
    /** Start and end time (s since the epoch; end 0 until DONE). */
    stime: number;
    etime: number;
    deployId: string;
    template: OneTemplate;
    userTemplate: OneTemplate;
}
