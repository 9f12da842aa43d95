/**
 * The state the double keeps per object kind. Plain data; behaviour lives in the kind modules
 * (cluster.ts, host.ts, …). To add a kind (vrouter, image, VM template, marketplace app, VM): add its
 * interface here, a pool in world.ts, and a module that registers its methods in one-double.ts.
 */
import { PoolObject } from "./pool";
import { OneTemplate, Vector } from "./template";

/** Host `STATE` values (6.x). */
export const HostState = { INIT: 0, MONITORED: 2, ERROR: 3, DISABLED: 4, OFFLINE: 8 } as const;

/** VNET `STATE` values. */
export const VnetState = { INIT: 0, READY: 1, LOCK_CREATE: 2, LOCK_DELETE: 3, DONE: 4, ERROR: 5, UPDATE_FAILURE: 6 } as const;

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
}

/** A virtual network template: registration time and template. */
export interface VnTemplateObject extends PoolObject {
    regtime: number;
    template: OneTemplate;
}
