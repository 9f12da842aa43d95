/**
 * Everything the double holds: one pool per object kind, the timers that drive asynchronous state
 * changes (VNET create/delete, host monitoring, image copy/removal, VM deploy and shutdown), and
 * cluster membership kept consistent in both directions (the cluster's HOSTS/DATASTORES/VNETS and
 * the object's CLUSTER_ID/CLUSTERS).
 */
import type {
    ClusterObject,
    DatastoreObject,
    HostObject,
    ImageObject,
    MarketAppObject,
    VmObject,
    VmTemplateObject,
    VnetObject,
    VnTemplateObject,
    VrouterObject,
} from "./objects";
import { Pool } from "./pool";

/** Timings and identity of a double instance (all required here; defaults live in one-double.ts). */
export interface WorldOptions {
    vnetCreateMs: number;
    vnetDeleteMs: number;
    hostMonitorMs: number;
    imageReadyMs: number;
    imageDeleteMs: number;
    vmDeployMs: number;
    vmPrologReads: number;
    vmBootReads: number;
    vmActionMs: number;
    version: string;
}

/** The kinds of object a cluster can contain. */
export type MemberKind = "host" | "datastore" | "vnet";

/** The state of one double. */
export class World {
    readonly clusters = new Pool<ClusterObject>({ object: "cluster", collision: "CLUSTER" }, 100);
    readonly hosts = new Pool<HostObject>({ object: "host", collision: "HOST" });
    readonly datastores = new Pool<DatastoreObject>({ object: "datastore", collision: "DATASTORE" }, 100);
    readonly vnets = new Pool<VnetObject>({ object: "virtual network", collision: "NET" });
    readonly vntemplates = new Pool<VnTemplateObject>({ object: "virtual network template", collision: "VN TEMPLATE" });
    readonly images = new Pool<ImageObject>({ object: "image", collision: "IMAGE" });
    readonly vmtemplates = new Pool<VmTemplateObject>({ object: "virtual machine template", collision: "TEMPLATE" });
    readonly marketapps = new Pool<MarketAppObject>({ object: "marketplaceapp", collision: "MARKETPLACEAPP" });
    readonly vrouters = new Pool<VrouterObject>({ object: "virtual router", collision: "VROUTER" });
    readonly vms = new Pool<VmObject>({ object: "virtual machine", collision: "VM" });

    /** 802.1Q VLAN IDs handed out automatically (oned's VLAN_IDS bitmap). */
    readonly automaticVlanIds = new Set<number>();

    /**
     * How many of the next host monitorings fail right after an enable, as real oned's did now and
     * then (1 in 10 on 7.0): the host goes to ERROR until it is enabled again.
     */
    hostMonitorFailures = 0;

    /** Called with an image's ID when its copy finishes (VMs waiting in CLONING for it move on). */
    readonly imageReadyListeners: ((imageId: number) => void)[] = [];

    private readonly timers = new Set<NodeJS.Timeout>();

    constructor(readonly options: WorldOptions) {}

    /** Runs `action` after `ms` unless the world is stopped first. Returns a handle for `cancel`. */
    later(ms: number, action: () => void): NodeJS.Timeout {
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            action();
        }, ms);
        timer.unref();
        this.timers.add(timer);
        return timer;
    }

    /** Cancels a pending `later`. */
    cancel(timer: NodeJS.Timeout | undefined): void {
        if (!timer) return;
        clearTimeout(timer);
        this.timers.delete(timer);
    }

    /** Cancels every pending state change. */
    stopTimers(): void {
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
    }

    /** Puts an object into a cluster (both sides). A host leaves its previous cluster. */
    join(kind: MemberKind, objectId: number, clusterId: number): void {
        const cluster = this.clusters.get(clusterId);
        if (kind === "host") {
            const host = this.hosts.get(objectId);
            this.clusters.find(host.clusterId)?.hosts.delete(objectId);
            host.clusterId = clusterId;
            cluster.hosts.add(objectId);
        } else {
            this.memberSet(kind, objectId).add(clusterId);
            this.clusterSet(cluster, kind).add(objectId);
        }
    }

    /** Takes a datastore or VNET out of one cluster (both sides). */
    leave(kind: Exclude<MemberKind, "host">, objectId: number, clusterId: number): void {
        this.memberSet(kind, objectId).delete(clusterId);
        const cluster = this.clusters.find(clusterId);
        if (cluster) this.clusterSet(cluster, kind).delete(objectId);
    }

    /** Removes an object from every cluster that lists it (used when the object is dropped). */
    leaveAll(kind: MemberKind, objectId: number): void {
        for (const cluster of this.clusters.list()) this.clusterSet(cluster, kind).delete(objectId);
    }

    private memberSet(kind: Exclude<MemberKind, "host">, objectId: number): Set<number> {
        return kind === "datastore" ? this.datastores.get(objectId).clusters : this.vnets.get(objectId).clusters;
    }

    private clusterSet(cluster: ClusterObject, kind: MemberKind): Set<number> {
        return kind === "host" ? cluster.hosts : kind === "datastore" ? cluster.datastores : cluster.vnets;
    }
}

/** `ctime()` without the newline, as oned stamps ERROR messages ("Fri Nov 21 01:05:00 2025"). */
export function logTime(date = new Date()): string {
    const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const pad = (n: number) => String(n).padStart(2, "0");
    const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
    return `${days[date.getDay()]} ${months[date.getMonth()]} ${String(date.getDate()).padStart(2, " ")} ${time} ${date.getFullYear()}`;
}
